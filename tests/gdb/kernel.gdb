set pagination off
set confirm off
target remote @SOCK@
break bump
continue
info registers cr0 cr3
print by
delete 1
watch ticks
continue
continue
delete 2
break *isr_common+59
continue
x/i $pc
stepi
x/i $pc
bt 1
delete
continue
