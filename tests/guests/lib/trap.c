#include "guest.h"

volatile struct trap_record trap;
volatile uint64_t trap_insn, trap_resume;
static struct trap_record saved[32];
static uint64_t saved_insn[32];

static void record(struct frame* f) {
  trap.vector = f->vector;
  trap.error = f->error_code;
  trap.cr2 = READ_CR(2);
  trap.rip = f->rip;
  trap.cs = f->cs;
  trap.rsp = f->rsp;
  trap.count++;
  f->rip = trap_resume;
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
  kprintf("%s: %s err=%lx", what, trap.vector < 32 ? names[trap.vector] : "int", trap.error);
  if (trap.vector == 14) kprintf(" cr2=%lx", trap.cr2);
  if (trap.rip - trap_insn < 64) {
    kprintf(" at insn+%d", (int)(trap.rip - trap_insn));
  } else {
    kprintf(" at %lx", trap.rip);
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
