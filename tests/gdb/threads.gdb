set pagination off
set confirm off
target remote @SOCK@
break count
continue
info threads
print hits
thread 1
bt 1
info threads
thread 2
continue
