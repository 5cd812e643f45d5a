# python3: the interpreter, extension modules (math, struct, json, re, hashlib, zlib, decimal,
# sqlite3), a child process and files.
import hashlib, json, math, re, struct, zlib, decimal, collections, sqlite3, os

print(6 * 7, math.sqrt(2), math.factorial(20), math.pi)
print(struct.pack("<IHb", 0xdeadbeef, 513, -2).hex())
print(json.dumps({"b": [1, 2.5, None], "a": "x"}, sort_keys=True))
print(re.findall(r"(\w)(\d)", "a1 b2 c3"), re.sub(r"\s+", "-", "a  b   c"))
print(hashlib.sha256(b"vireo").hexdigest()[:16], zlib.crc32(b"vireo"))
print(decimal.Decimal(1) / decimal.Decimal(7))
print(collections.Counter("mississippi").most_common(2))
db = sqlite3.connect(":memory:")
db.execute("create table t(x)")
db.executemany("insert into t values (?)", [(i,) for i in range(100)])
print(db.execute("select sum(x), avg(x) from t").fetchone())
# A child by fork + exec (the subprocess module wants epoll and close_range, other areas' calls).
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.dup2(w, 1)
    os.execvp("echo", ["echo", "from", "a", "child"])
os.close(w)
print(os.read(r, 100).decode(), end="")
print("child status", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
with open("py_out.txt", "w") as f:
    f.write("\n".join(str(i * i) for i in range(10)))
print(sorted(os.listdir(".")))
print([x ** 3 for x in range(10) if x % 2], sum(range(10**5)))
