#include "jit/frontend/translation_decodes.h"

#include <cstring>
#include <new>
#include <type_traits>

#include "cpu/decode_template.h"
#include "cpu/decoder.h"
#include "cpu/shape_length.h"

namespace vireo::jit {

namespace {
// Built before main, not at first use: a function-local static's guard would be left held in a
// child forked while another guest thread was initialising it.
const Decoder g_long_mode_decoder(CpuMode::Long64);
}  // namespace

const Decoder& long_mode_decoder() { return g_long_mode_decoder; }

namespace {

size_t template_index(uint64_t w0, uint64_t w1, unsigned shape, size_t slots) {
  return (shape_hash(w0, w1, shape) >> 32) & (slots - 1);
}

}  // namespace

// (Insn is plain data, all zero when empty: calloc's zero pages are touched
// only as they are used.)
static_assert(std::is_trivially_copyable_v<Insn>);
TranslationDecodes::TranslationDecodes()
    : pcs_(static_cast<uint64_t*>(std::calloc(kSlots, sizeof(uint64_t)))),
      slots_(static_cast<Insn*>(std::calloc(kSlots, sizeof(Insn)))),
      templates_(static_cast<Insn*>(std::calloc(kTemplates, sizeof(Insn)))) {
  if (!pcs_ || !slots_ || !templates_) throw std::bad_alloc();
}

TranslationDecodes& TranslationDecodes::of_thread() {
  thread_local TranslationDecodes decodes;
  return decodes;
}

const Insn* TranslationDecodes::find_template(const uint8_t* buf, size_t got) const {
  const unsigned shape = guess_shape_length(buf);
  if (shape > got) return nullptr;
  uint64_t w0, w1;
  std::memcpy(&w0, buf, 8);
  std::memcpy(&w1, buf + 8, 8);
  const Insn& t = templates_[template_index(w0, w1, shape, kTemplates)];
  if (t.shape_len != shape || t.len > got) return nullptr;  // (an empty slot: shape 0)
  return same_first_bytes(t, w0, w1, shape) ? &t : nullptr;
}

void TranslationDecodes::note_template(const Insn& in) {
  const unsigned shape = in.shape_len;
  if (!shape) return;
  uint64_t w0, w1;
  std::memcpy(&w0, in.bytes, 8);
  std::memcpy(&w1, in.bytes + 7, 8);
  w1 >>= 8;
  templates_[template_index(w0, w1, shape, kTemplates)] = in;
}

bool TranslationDecodes::decode(const uint8_t* bytes, size_t got, uint64_t pc, Insn& in) {
  const size_t k = (pc * 0x9E3779B97F4A7C15ull) >> 40 & (kSlots - 1);
  Insn& s = slots_[k];
  if (pcs_[k] == pc && s.len != 0 && s.len <= got && std::memcmp(s.bytes, bytes, s.len) == 0) {
    ++same_pc_;
    in = s;
    return true;
  }
  // (16 bytes, those past `got` zero, for the template's two 8-byte reads)
  uint8_t buf[16] = {};
  std::memcpy(buf, bytes, got);
  if (const Insn* t = find_template(buf, got)) {
    ++same_shape_;
    apply_template(in, *t, buf, pc);
  } else {
    ++zydis_;
    if (!long_mode_decoder().decode(buf, got, pc, in)) return false;
    note_template(in);
  }
  pcs_[k] = pc;
  s = in;
  return true;
}

}  // namespace vireo::jit
