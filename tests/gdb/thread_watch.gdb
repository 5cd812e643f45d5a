set pagination off
set confirm off
target remote @SOCK@
break main
continue
watch hits
continue
continue
continue
