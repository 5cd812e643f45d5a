# python_system.py — Python's system interfaces under Vireo, compared with native: subprocess
# with pipes, fork, posix_spawn, signal handlers and itimers, threads, file and anonymous mmap
# (shared across fork), multiprocessing pools (fork and spawn), TCP and UDP on loopback,
# select/poll/epoll, asyncio streams and subprocesses, ctypes calling libc (qsort calling back
# into Python), copy_file_range/sendfile/splice, SCM_RIGHTS and SO_PEERCRED, pidfd, eventfd,
# lockf between processes, sigwait/pthread_kill, RLIMIT_NOFILE, SIGCHLD, and children dying by
# SIGPIPE, SIGABRT and SIGSEGV. Nothing printed depends on pids, ports or timing.
import os, sys, subprocess, threading, asyncio, socket, select, signal, mmap, tempfile, multiprocessing, selectors, time

def sq(x): return x*x

def main():
    # subprocess pipes
    r = subprocess.run(["/bin/sh","-c","echo out; echo err >&2; exit 3"], capture_output=True)
    print("sub", r.returncode, r.stdout, r.stderr)
    p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out,_ = p.communicate(b"x"*200000)
    print("cat", len(out), p.returncode)
    # fork
    pid = os.fork()
    if pid == 0:
        os._exit(5)
    _, st = os.waitpid(pid, 0)
    print("fork", os.WEXITSTATUS(st))
    # signal handler
    got=[]
    signal.signal(signal.SIGUSR1, lambda s,f: got.append(s))
    os.kill(os.getpid(), signal.SIGUSR1)
    print("sig", got)
    signal.signal(signal.SIGALRM, lambda s,f: got.append(s))
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    time.sleep(0.3)
    print("alarm", got)
    # threads
    res=[0]*8; 
    def w(i): res[i]=sum(range(i*1000))
    ts=[threading.Thread(target=w,args=(i,)) for i in range(8)]
    [t.start() for t in ts]; [t.join() for t in ts]
    print("threads", res)
    # mmap
    with tempfile.TemporaryFile() as f:
        f.write(b"hello world"*1000); f.flush()
        m = mmap.mmap(f.fileno(), 0)
        m[0:5]=b"HELLO"; m.flush()
        f.seek(0); print("mmap", f.read(11), len(m))
        m.close()
    an = mmap.mmap(-1, 1<<20); an[100]=7; print("anon", an[100]); an.resize(2<<20) if hasattr(an,'resize') else None
    # multiprocessing
    with multiprocessing.Pool(2) as pool:
        print("pool", pool.map(sq, range(10)))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        print("spawnpool", pool.map(sq, range(5)))
    # sockets loopback
    srv = socket.socket(); srv.bind(("127.0.0.1",0)); srv.listen()
    port = srv.getsockname()[1]
    def serve():
        c,_ = srv.accept(); d=c.recv(100); c.sendall(d.upper()); c.close()
    t=threading.Thread(target=serve); t.start()
    c=socket.create_connection(("127.0.0.1",port)); c.sendall(b"ping"); print("sock", c.recv(100)); c.close(); t.join()
    # udp
    u1=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u1.bind(("127.0.0.1",0))
    u2=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u2.sendto(b"dgram", u1.getsockname())
    print("udp", u1.recvfrom(100)[0])
    # socketpair + select/poll/epoll
    a,b = socket.socketpair()
    b.send(b"z")
    print("select", len(select.select([a],[],[],1)[0]))
    p=select.poll(); p.register(a, select.POLLIN); print("poll", p.poll(1000))
    ep=select.epoll(); ep.register(a.fileno(), select.EPOLLIN); print("epoll", ep.poll(1))
    # asyncio
    async def amain():
        async def h(r,w):
            d=await r.read(100); w.write(d[::-1]); await w.drain(); w.close()
        s=await asyncio.start_server(h,"127.0.0.1",0)
        port=s.sockets[0].getsockname()[1]
        r,w=await asyncio.open_connection("127.0.0.1",port)
        w.write(b"abcdef"); await w.drain()
        print("asyncio", await r.read(100))
        w.close(); s.close(); await s.wait_closed()
        p = await asyncio.create_subprocess_exec("echo","hi",stdout=asyncio.subprocess.PIPE)
        print("asub", await p.stdout.read(), await p.wait())
        await asyncio.sleep(0.01)
    asyncio.run(amain())
    # ctypes
    import ctypes, ctypes.util
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    print("ctypes", libc.strlen(b"hello"), libc.getpid()==os.getpid())
    qs = (ctypes.c_int*5)(5,3,1,4,2)
    CMP=ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
    libc.qsort(qs, 5, ctypes.sizeof(ctypes.c_int), CMP(lambda a,b: a[0]-b[0]))
    print("qsort", list(qs))
    # pipes & os
    rfd,wfd=os.pipe(); os.write(wfd,b"pipe"); print("pipe", os.read(rfd,10))
    print("cpu", os.cpu_count() is not None, len(os.sched_getaffinity(0))>0)
    print("uname", os.uname().sysname, os.uname().machine)

import array, fcntl, struct, errno, resource

def more():
    r, w = os.pipe()
    print("posix_spawn", os.waitpid(os.posix_spawn("/bin/sh", ["sh", "-c", "exit 7"], {}), 0)[1] >> 8)
    with open("src.bin", "wb") as f: f.write(os.urandom(0) + bytes(range(256)) * 1000)
    s = os.open("src.bin", os.O_RDONLY); d = os.open("dst.bin", os.O_WRONLY | os.O_CREAT, 0o644)
    print("copy_file_range", os.copy_file_range(s, d, 100000))
    print("sendfile", os.sendfile(d, s, 0, 50000))
    os.close(d)
    print("same", open("src.bin","rb").read(50000) == open("dst.bin","rb").read(50000))
    os.unlink("dst.bin"); os.unlink("src.bin")
    # SCM_RIGHTS
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    a.sendmsg([b"fd"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w]))])
    msg, anc, flags, addr = b.recvmsg(10, socket.CMSG_SPACE(4))
    fd = array.array("i", anc[0][2])[0]
    os.write(fd, b"via passed fd"); print("scm_rights", os.read(r, 100))
    # SO_PEERCRED
    cred = b.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    print("peercred", struct.unpack("3i", cred)[0] == os.getpid())
    # shared mmap across fork
    m = mmap.mmap(-1, 4096, flags=mmap.MAP_SHARED)
    pid = os.fork()
    if pid == 0:
        m[0:5] = b"child"; os._exit(0)
    os.waitpid(pid, 0); print("shared", m[0:5])
    # pidfd
    pid = os.fork()
    if pid == 0: time.sleep(0.05); os._exit(3)
    pfd = os.pidfd_open(pid); print("pidfd poll", len(select.select([pfd], [], [], 5)[0])); print("status", os.waitpid(pid, 0)[1] >> 8)
    # eventfd
    efd = os.eventfd(0); os.eventfd_write(efd, 5); os.eventfd_write(efd, 2); print("eventfd", os.eventfd_read(efd))
    # flock/fcntl locks across fork
    fl = open("lockfile", "w")
    fcntl.lockf(fl, fcntl.LOCK_EX)
    pid = os.fork()
    if pid == 0:
        f2 = open("lockfile", "w")
        try: fcntl.lockf(f2, fcntl.LOCK_EX | fcntl.LOCK_NB); os._exit(0)
        except OSError as e: os._exit(10 + (e.errno == errno.EAGAIN or e.errno == errno.EACCES))
    print("lockf child", os.waitpid(pid, 0)[1] >> 8)
    os.unlink("lockfile")
    # pthread_kill + sigwait
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
    def t(): time.sleep(0.05); signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
    threading.Thread(target=t).start()
    print("sigwait", signal.sigwait([signal.SIGUSR1]))
    print("sigtimedwait", signal.sigtimedwait([signal.SIGUSR1], 0.01))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])
    # setrlimit and its effect
    resource.setrlimit(resource.RLIMIT_NOFILE, (50, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    fds = []
    try:
        while True: fds.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as e: print("emfile", e.errno == errno.EMFILE, len(fds) + 3 <= 50)
    for f in fds: os.close(f)
    # SIGCHLD handler + wait
    got = []
    signal.signal(signal.SIGCHLD, lambda s, f: got.append(s))
    pid = os.fork()
    if pid == 0: os._exit(0)
    os.waitpid(pid, 0); time.sleep(0.05); print("sigchld", got[:1])
    # splice via os
    if hasattr(os, "splice"):
        r2, w2 = os.pipe(); os.write(w2, b"splice!"); r3, w3 = os.pipe()
        print("splice", os.splice(r2, w3, 7), os.read(r3, 10))
    # getrandom, times
    print("getrandom", len(os.getrandom(32)))
    # SIGPIPE default in child: writing to closed pipe kills with SIGPIPE
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        r4, w4 = os.pipe(); os.close(r4); os.write(w4, b"x"); os._exit(0)
    print("sigpipe", os.waitpid(pid, 0)[1] & 0x7f)
    # abort in child -> SIGABRT status
    pid = os.fork()
    if pid == 0: os.abort()
    print("abort", os.waitpid(pid, 0)[1] & 0x7f)
    # segfault in child via ctypes
    pid = os.fork()
    if pid == 0:
        import ctypes; ctypes.string_at(0)
    print("segv", os.waitpid(pid, 0)[1] & 0x7f)


if __name__ == "__main__":
    main()
    more()
