set pagination off
set confirm off
target remote @SOCK@
break ready
continue
finish
watch -l *heap_target
watch -l *map_target
continue
bt 2
continue
bt 2
continue
