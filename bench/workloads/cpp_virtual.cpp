// Virtual calls through a class hierarchy and C++ exceptions (the unwinder, RTTI, the
// personality routine): the indirect-call and cold-path-heavy shape of C++ programs.
// Usage: cpp_virtual N
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <vector>

namespace {

struct Shape {
  virtual ~Shape() = default;
  virtual long area() const = 0;
  virtual long grow(long by) = 0;
};
struct Rect : Shape {
  long w, h;
  Rect(long w, long h) : w(w), h(h) {}
  long area() const override { return w * h; }
  long grow(long by) override { w = (w + by) & 0xFFFF; return w; }
};
struct Circle : Shape {
  long r;
  explicit Circle(long r) : r(r) {}
  long area() const override { return 3 * r * r; }
  long grow(long by) override { r = (r + (by & 3)) & 0xFFF; return r; }
};
struct Tri : Shape {
  long b, h;
  Tri(long b, long h) : b(b), h(h) {}
  long area() const override { return b * h / 2; }
  long grow(long by) override {
    if (by % 97 == 0) throw std::range_error("triangle overflow");
    h = (h + (by & 1)) & 0xFFFF;
    return h;
  }
};

}  // namespace

int main(int argc, char** argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  std::vector<std::unique_ptr<Shape>> shapes;
  for (int i = 0; i < 64; ++i) {
    if (i % 3 == 0) shapes.push_back(std::make_unique<Rect>(i, i + 1));
    else if (i % 3 == 1) shapes.push_back(std::make_unique<Circle>(i));
    else shapes.push_back(std::make_unique<Tri>(i, 2 * i));
  }
  long sum = 0, caught = 0;
  for (long k = 0; k < n; ++k) {
    Shape& s = *shapes[(k * 7) & 63];
    sum += s.area() & 0xFFFF;
    try {
      sum ^= s.grow(k);
    } catch (const std::range_error& e) {
      ++caught;
      sum += e.what()[0];
    }
  }
  std::printf("%ld %ld\n", sum, caught);
  return 0;
}
