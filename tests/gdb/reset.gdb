set pagination off
set confirm off
target remote @SOCK@
break power_cycle
continue
print n
continue
print n
print cycle
continue
