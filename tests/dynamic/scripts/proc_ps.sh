# `ps` reading other processes' /proc/PID: the command lines of a shell's children, as procps
# and busybox ps show them. Under Vireo every one of these processes is a guest; ps must show
# the guest's argv (not "vireo run ..."), its program and its size from the guest's view.
# Only what is the same natively is printed.
set -u
sleep 29 1s &
a=$!
bash -c 'exec -a "named sleeper" sleep 31' &
b=$!
# (until both have exec'd sleep)
cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null; }
for _ in $(seq 400); do
  [ "$(cmdline $a)" = "sleep 29 1s " ] && [ "$(cmdline $b)" = "named sleeper 31 " ] && break
  sleep 0.05
done
echo "procps args:  $(ps -o args= -p $a)"
echo "procps args:  $(ps -o args= -p $b)"
echo "procps comm:  $(ps -o comm= -p $a)"
echo "procps list:  $(ps -o args= --ppid $$ | grep -c -e '^sleep 29 1s$' -e '^named sleeper 31$')"
echo "busybox args: $(busybox ps -o pid,args | awk -v a=$a -v b=$b '$1 == a || $1 == b { $1 = ""; print }' | tr '\n' '|')"
# The size ps shows is the guest's: that of a small program, not a 64 TiB window.
vsz=$(ps -o vsz= -p $a)
echo "procps vsz below 1 GiB: $([ "$vsz" -lt 1048576 ] && echo yes || echo "no ($vsz)")"
echo "exe: $(readlink /proc/$a/exe)"
kill $a $b
wait
exit 0
