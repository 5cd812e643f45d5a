set pagination off
set confirm off
target remote @SOCK@
break main
continue
next
print local
display counter
watch counter
continue
continue
continue
delete 2
undisplay 1
x/8i $pc
info registers rip
break 34
continue
step
step
step
bt
next
print doubled
finish
print $
print counter
break 35
continue
set var setting = 77
continue
print $_siginfo.si_signo
signal 0
print $_siginfo._sifields._sigfault.si_addr
continue
