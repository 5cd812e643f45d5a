set pagination off
set confirm off
target remote @SOCK@
continue
print $_siginfo._sifields._sigfault.si_addr
set $_siginfo._sifields._sigfault.si_addr = (void *) 0x4321
print $_siginfo._sifields._sigfault.si_addr
continue
