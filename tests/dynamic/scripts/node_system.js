// node_system.js — Node's runtime under Vireo, compared with native: worker_threads, fs (sync and
// promises), child_process (spawnSync, execSync, spawn with piped stdin/stdout), an HTTP server
// and client on 127.0.0.1, timers, zlib, crypto (hash, pbkdf2, scrypt on the libuv pool),
// fs.watch (inotify). Nothing printed depends on pids, ports or timing.
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const fs = require('fs'), cp = require('child_process'), http = require('http'), os = require('os'), path=require('path'), zlib=require('zlib'), crypto=require('crypto');
if (!isMainThread) {
  let s = 0; for (let i = 0; i < workerData * 100000; i++) s += i % 7;
  parentPort.postMessage(s); return;
}
(async () => {
  const rs = await Promise.all([1,2,3].map(n => new Promise((res, rej) => {
    const w = new Worker(__filename, { workerData: n }); w.on('message', res); w.on('error', rej);
  })));
  console.log('workers', rs);
  fs.writeFileSync('f.txt', 'hello\n'.repeat(1000));
  console.log('fs', fs.readFileSync('f.txt').length, fs.statSync('f.txt').size, fs.readdirSync('.').includes('f.txt'));
  await fs.promises.appendFile('f.txt', 'more');
  console.log('fsp', (await fs.promises.readFile('f.txt', 'utf8')).length);
  const r = cp.spawnSync('/bin/sh', ['-c', 'echo hi; echo err >&2; exit 4']);
  console.log('spawnSync', r.status, String(r.stdout), String(r.stderr));
  console.log('execSync', String(cp.execSync('echo $((6*7))')));
  await new Promise(res => { const c = cp.spawn('cat'); let d=''; c.stdout.on('data', x=>d+=x); c.on('close', code => { console.log('spawn', d.length, code); res(); }); c.stdin.end('x'.repeat(100000)); });
  const srv = http.createServer((req, res) => { res.end('got ' + req.url); });
  await new Promise(r => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  const body = await new Promise((res, rej) => http.get(`http://127.0.0.1:${port}/abc`, r => { let d=''; r.on('data', x=>d+=x); r.on('end', ()=>res(d)); }).on('error', rej));
  console.log('http', body); srv.close();
  await new Promise(r => setTimeout(r, 20));
  let n = 0; await new Promise(r => { const iv = setInterval(() => { if (++n == 5) { clearInterval(iv); r(); } }, 5); });
  console.log('timers', n);
  console.log('zlib', zlib.gunzipSync(zlib.gzipSync(Buffer.alloc(100000, 'a'))).length);
  console.log('crypto', crypto.createHash('sha256').update('abc').digest('hex'));
  const k = crypto.pbkdf2Sync('pw','salt',1000,32,'sha256').toString('hex'); console.log('pbkdf2', k);
  await new Promise(r => crypto.scrypt('pw','salt',32,(e,k)=>{console.log('scrypt', k.toString('hex')); r();}));
  fs.unlinkSync('f.txt');
  console.log('cpus', os.cpus().length > 0, os.platform());
  // fs.watch
  fs.mkdirSync('wd');
  const wch = fs.watch('wd'); const ev = new Promise(r => wch.once('change', (t, f) => r(t + ' ' + f)));
  fs.writeFileSync('wd/x', '1'); console.log('watch', await ev); wch.close();
  fs.rmSync('wd', {recursive: true});
})();
