set pagination off
set confirm off
target remote @SOCK@
break bump thread 1
break worker
continue
info threads
thread 2
print $_thread
continue
print who
print hits
info threads
continue
