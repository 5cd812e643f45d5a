// x87 FPU: loads, stores, integer and BCD conversions, arithmetic, compares (FCOM/FUCOM/FICOM,
// FCOMI/FUCOMI with ZF/PF/CF), FCMOVcc, FXCH, constants, transcendentals and the stack
// housekeeping (FFREE, FINCSTP, FDECSTP). Control instructions are in x87_control.cpp,
// FXSAVE/FXRSTOR in fxsave.cpp.
//
// Every instruction here is executed by the host FPU on the guest's state (x87_native.h): the
// handler supplies the memory operand, and keeps FIP/FDP/FOP and the sticky exception flags.
#include <Zydis/Mnemonic.h>

#include <cstring>

#include "cpu/host_quirks.h"
#include "interp/dispatch.h"
#include "interp/exec.h"
#include "interp/x87_native.h"

namespace vireo {

namespace {

const Operand* mem_operand(const Insn& in) {
  for (unsigned i = 0; i < in.nops; ++i)
    if (in.op[i].kind == OpKind::Mem) return &in.op[i];
  return nullptr;
}

// Memory operand widths of the x87 memory forms (m16int .. m80 and BCD) are at most 10 bytes.
constexpr unsigned kMaxOperand = 10;

template <bool kStore>
void execute(Exec& x, const Insn& in) {
  x87::check_pending(x);
  x87::Encoding e = x87::encoding(in);
  alignas(16) uint8_t buf[16] = {};
  uint64_t la = 0;
  unsigned size = 0;
  if (e.is_mem()) {
    const Operand* m = mem_operand(in);
    if (!m || m->size == 0 || m->size > kMaxOperand) x.raise_ud();
    la = x.linear(in, *m);
    size = m->size;
    if (!kStore) std::memcpy(buf, x.host_ptr(la, size, false), size);
    // A store's destination is checked before the arithmetic: a #PF there comes before an
    // unmasked exception that would leave memory unwritten (measured: fist after frstor).
    if (kStore) {
      x.probe_write(la);
      if ((la & 4095) + size > 4096) x.probe_write((la | 4095) + 1);
    }
  }

  X87State s = x.cpu->x87;
  uint64_t fl = x.cpu->rflags;
  uint16_t raised = x87::run_native(s, x87::stub_index(e), buf, fl);

  // A store whose unmasked exception (other than precision) stops the instruction writes no
  // memory (SDM Vol. 1, 8.5: unmasked responses leave the destination unchanged).
  if (kStore && e.is_mem() && !(raised & ~s.fcw & (x87::EXC_MASK & ~x87::PE)))
    std::memcpy(x.host_ptr(la, size, true), buf, size);

  // Non-control instruction: record the last instruction and data pointers (SDM Vol. 1, 8.1.8)
  // as this host does: with FDP_EXCPTN_ONLY, FOP/FDP/FDS only on an unmasked exception, and
  // FCS/FDS as 0 where the CPU deprecates them (cpu/host_quirks.h, host_x87_pointer_rules).
  const HostX87PointerRules& rules = host_x87_pointer_rules();
  const bool unmasked = raised & ~s.fcw & x87::EXC_MASK;
  if (!rules.fop_on_exception_only || unmasked) s.fop = e.fop();
  s.fip = x.insn_rip;
  s.fcs = rules.selectors_zero ? 0 : x.cpu->seg[SEG_CS].selector;
  if (e.is_mem() && (!rules.data_on_exception_only || unmasked)) {
    s.fdp = la;
    s.fds = rules.selectors_zero ? 0 : x.cpu->seg[SEG_DS].selector;
  }
  x.cpu->x87 = s;
  x.cpu->rflags = fl;  // only FCOMI/FUCOMI(P) change the arithmetic flags
}

// FNOP-like legacy encodings (FENI/FDISI/FSETPM of the 8087/287, DB E0/E1/E4) do nothing on
// x87 FPUs since the 387 (SDM Vol. 2, FNOP notes) and are non-waiting.
void legacy_nop(Exec&, const Insn&) {}

}  // namespace

void register_x87(DispatchTable& t) {
  for (auto m : {
           // loads, constants, register moves
           ZYDIS_MNEMONIC_FLD, ZYDIS_MNEMONIC_FILD, ZYDIS_MNEMONIC_FBLD, ZYDIS_MNEMONIC_FLD1,
           ZYDIS_MNEMONIC_FLDZ, ZYDIS_MNEMONIC_FLDPI, ZYDIS_MNEMONIC_FLDL2E,
           ZYDIS_MNEMONIC_FLDL2T, ZYDIS_MNEMONIC_FLDLG2, ZYDIS_MNEMONIC_FLDLN2,
           ZYDIS_MNEMONIC_FXCH, ZYDIS_MNEMONIC_FCMOVB, ZYDIS_MNEMONIC_FCMOVBE,
           ZYDIS_MNEMONIC_FCMOVE, ZYDIS_MNEMONIC_FCMOVNB, ZYDIS_MNEMONIC_FCMOVNBE,
           ZYDIS_MNEMONIC_FCMOVNE, ZYDIS_MNEMONIC_FCMOVNU, ZYDIS_MNEMONIC_FCMOVU,
           // arithmetic
           ZYDIS_MNEMONIC_FADD, ZYDIS_MNEMONIC_FADDP, ZYDIS_MNEMONIC_FIADD, ZYDIS_MNEMONIC_FSUB,
           ZYDIS_MNEMONIC_FSUBP, ZYDIS_MNEMONIC_FISUB, ZYDIS_MNEMONIC_FSUBR,
           ZYDIS_MNEMONIC_FSUBRP, ZYDIS_MNEMONIC_FISUBR, ZYDIS_MNEMONIC_FMUL,
           ZYDIS_MNEMONIC_FMULP, ZYDIS_MNEMONIC_FIMUL, ZYDIS_MNEMONIC_FDIV, ZYDIS_MNEMONIC_FDIVP,
           ZYDIS_MNEMONIC_FIDIV, ZYDIS_MNEMONIC_FDIVR, ZYDIS_MNEMONIC_FDIVRP,
           ZYDIS_MNEMONIC_FIDIVR, ZYDIS_MNEMONIC_FCHS, ZYDIS_MNEMONIC_FABS, ZYDIS_MNEMONIC_FSQRT,
           ZYDIS_MNEMONIC_FRNDINT, ZYDIS_MNEMONIC_FSCALE, ZYDIS_MNEMONIC_FXTRACT,
           ZYDIS_MNEMONIC_FPREM, ZYDIS_MNEMONIC_FPREM1,
           // transcendental
           ZYDIS_MNEMONIC_FSIN, ZYDIS_MNEMONIC_FCOS, ZYDIS_MNEMONIC_FSINCOS,
           ZYDIS_MNEMONIC_FPTAN, ZYDIS_MNEMONIC_FPATAN, ZYDIS_MNEMONIC_F2XM1,
           ZYDIS_MNEMONIC_FYL2X, ZYDIS_MNEMONIC_FYL2XP1,
           // compares and classification
           ZYDIS_MNEMONIC_FCOM, ZYDIS_MNEMONIC_FCOMP, ZYDIS_MNEMONIC_FCOMPP,
           ZYDIS_MNEMONIC_FUCOM, ZYDIS_MNEMONIC_FUCOMP, ZYDIS_MNEMONIC_FUCOMPP,
           ZYDIS_MNEMONIC_FICOM, ZYDIS_MNEMONIC_FICOMP, ZYDIS_MNEMONIC_FCOMI,
           ZYDIS_MNEMONIC_FCOMIP, ZYDIS_MNEMONIC_FUCOMI, ZYDIS_MNEMONIC_FUCOMIP,
           ZYDIS_MNEMONIC_FTST, ZYDIS_MNEMONIC_FXAM,
           // stack housekeeping
           ZYDIS_MNEMONIC_FFREE, ZYDIS_MNEMONIC_FFREEP, ZYDIS_MNEMONIC_FINCSTP,
           ZYDIS_MNEMONIC_FDECSTP, ZYDIS_MNEMONIC_FNOP})
    t[m] = execute<false>;
  for (auto m : {ZYDIS_MNEMONIC_FST, ZYDIS_MNEMONIC_FSTP, ZYDIS_MNEMONIC_FSTPNCE,
                 ZYDIS_MNEMONIC_FIST, ZYDIS_MNEMONIC_FISTP, ZYDIS_MNEMONIC_FISTTP,
                 ZYDIS_MNEMONIC_FBSTP})
    t[m] = execute<true>;  // register forms (FST ST(i)) store nothing: buf is unused
  for (auto m : {ZYDIS_MNEMONIC_FENI8087_NOP, ZYDIS_MNEMONIC_FDISI8087_NOP,
                 ZYDIS_MNEMONIC_FSETPM287_NOP})
    t[m] = legacy_nop;
  x87::register_control(t);
  x87::register_fxsave(t);
}

}  // namespace vireo
