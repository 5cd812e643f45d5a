set pagination off
set confirm off
target remote @SOCK@
break work
continue
rwatch -l *shared_value
delete 1
continue
print (long)$pc - (long)shared_value
stepi
stepi
continue
