// Issue 21, item 2: mov to ES/DS/SS/GS and pop fs/gs check the selector against the GDT
// (#GP with the selector as error code). FS is left alone: glibc's TLS lives there.
#include "harness.h"

SNIPPET(mov_ds_user_data, "mov $0x2b, %eax; mov %eax, %ds; mov %ds, %ebx")
SNIPPET(mov_ds_user_code, "mov $0x33, %eax; mov %eax, %ds; mov %ds, %ebx")
SNIPPET(mov_ds_user32_code, "mov $0x23, %eax; mov %eax, %ds; mov %ds, %ebx; mov $0, %eax; mov %eax, %ds")
SNIPPET(mov_ds_null, "mov $0x3, %eax; mov %eax, %ds; mov %ds, %ebx; mov $0, %eax; mov %eax, %ds")
SNIPPET(mov_ds_kernel_data, "mov $0x18, %eax; mov %eax, %ds")
SNIPPET(mov_es_kernel_rpl3, "mov $0x1b, %eax; mov %eax, %es")
SNIPPET(mov_es_tls_empty, "mov $0x63, %eax; mov %eax, %es")
SNIPPET(mov_es_tss, "mov $0x40, %eax; mov %eax, %es")
SNIPPET(mov_es_past_gdt, "mov $0x1234, %eax; mov %eax, %es")
SNIPPET(mov_es_ldt, "mov $0x2f, %eax; mov %eax, %es")
SNIPPET(mov_ss_null, "mov $0, %eax; mov %eax, %ss")
SNIPPET(mov_ss_code, "mov $0x33, %eax; mov %eax, %ss")
SNIPPET(mov_ss_rpl0, "mov $0x28, %eax; mov %eax, %ss")
SNIPPET(mov_ss_user_data, "mov $0x2b, %eax; mov %eax, %ss; mov %ss, %ebx")
SNIPPET(mov_gs_from_memory, "movw $0x4b, (%rsp); mov (%rsp), %gs")
SNIPPET(pop_gs_bad, "push $0x4b; pop %gs")
SNIPPET(pop_gs_user_data, "push $0x2b; pop %gs; mov %gs, %ebx; push $0; pop %gs")

int main(void) {
  setup();
  RUN(mov_ds_user_data, R(0));
  RUN(mov_ds_user_code, R(0));
  RUN(mov_ds_user32_code, R(0));
  RUN(mov_ds_null, R(0));
  RUN(mov_ds_kernel_data, R(0));
  RUN(mov_es_kernel_rpl3, R(0));
  RUN(mov_es_tls_empty, R(0));
  RUN(mov_es_tss, R(0));
  RUN(mov_es_past_gdt, R(0));
  RUN(mov_es_ldt, R(0));
  RUN(mov_ss_null, R(0));
  RUN(mov_ss_code, R(0));
  RUN(mov_ss_rpl0, R(0));
  RUN(mov_ss_user_data, R(0));
  RUN(mov_gs_from_memory, R(0));
  RUN(pop_gs_bad, R(0));
  RUN(pop_gs_user_data, R(0));
  return 0;
}
