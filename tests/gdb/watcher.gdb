set pagination off
set confirm off
target remote @SOCK@
break main
continue
watch written.v
rwatch read_once.v
continue
continue
delete
awatch written.v
continue
continue
delete
continue
