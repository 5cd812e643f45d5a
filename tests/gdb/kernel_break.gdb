set pagination off
set confirm off
target remote @SOCK@
break bump
continue
info registers cr0
print by
print ticks
stepi
info registers rip
kill
