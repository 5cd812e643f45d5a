set pagination off
set confirm off
target remote @SOCK@
continue
print $_siginfo.si_signo
print $_siginfo._sifields._sigfault.si_addr
x/i $pc
info registers rip
kill
