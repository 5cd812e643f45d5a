#include "guest.h"

volatile struct trap_record trap;
volatile uint64_t trap_insn, trap_resume;
static struct trap_record saved[32];
static uint64_t saved_insn[32];

static void record(struct frame* f) {
  trap.vector = f->vector;
  trap.error = f->error_code;
  trap.cr2 = READ_CR(2);
#ifdef __x86_64__
  trap.rip = f->rip;
  trap.rsp = f->rsp;
  f->rip = trap_resume;
#else
  trap.rip = f->eip;
  trap.rsp = (f->cs & 3) ? f->esp : 0;  /* pushed only on a privilege change */
  f->eip = (uint32_t)trap_resume;
#endif
  trap.cs = f->cs;
  trap.count++;
}

void trap_catch(int vector) { idt_set_handler(vector, record); }

void trap_report(const char* what) {
  static const char* names[32] = {[0] = "#DE", [1] = "#DB", [3] = "#BP", [4] = "#OF", [5] = "#BR",
                                  [6] = "#UD", [8] = "#DF", [10] = "#TS", [11] = "#NP", [12] = "#SS",
                                  [13] = "#GP", [14] = "#PF", [17] = "#AC"};
  if (!trap.count) {
    kprintf("%s: no fault\n", what);
    return;
  }
  if (trap.vector < 32) {
    kprintf("%s: %s err=%lx", what, names[trap.vector], (unsigned long)trap.error);
  } else {
    kprintf("%s: vector %lx", what, (unsigned long)trap.vector);
  }
  if (trap.vector == 14) kprintf(" cr2=%lx", (unsigned long)trap.cr2);
  if (trap.rip - trap_insn < 64) {
    kprintf(" at insn+%d", (int)(trap.rip - trap_insn));
  } else {
    kprintf(" at %lx", (unsigned long)trap.rip);
  }
  kprintf(" cpl=%d\n", (int)(trap.cs & 3));
}

void trap_save(int n) {
  saved[n] = trap;
  saved_insn[n] = trap_insn;
}

void trap_report_saved(int n, const char* what) {
  trap = saved[n];
  trap_insn = saved_insn[n];
  trap_report(what);
}

struct trap_record* trap_saved(int n) { return &saved[n]; }

uint64_t idt_error_as_sdm(uint64_t error, uint64_t vector, bool ext) {
  if (error == ((vector << 4) | 2)) return (vector << 3) | 2 | (ext ? 1 : 0);
  return error;
}
