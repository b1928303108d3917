// icnn_torch.cpp: the implementation of icnn_torch.h over libtorch's C++
// API. It includes only ATen and the autograd entry points (not
// torch/torch.h) to keep the build short. The one API that differs between
// libtorch 1.13 and 2.x, autocast's switches, is chosen by TORCH_VERSION.
#include "icnn_torch.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/version.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

struct icnn_tensor_s {
  at::Tensor t;
};

namespace {

thread_local std::string last_error;

void set_error(const std::string &msg) { last_error = msg; }

// Op codes: the values of sdk/graph's Op. Only the ones icnn_op computes.
enum Op {
  kNeg = 5, kAbs, kExp, kLog, kSqrt, kRelu, kSigmoid, kTanh, kLeakyRelu, kClamp, kRound, kStopGradient, kCast,
  kAdd, kSub, kMul, kDiv,
  kSum, kMean, kMax, kLogSumExp, kArgMax,
  kMatMul, kConv2D, kConvTranspose2D, kMaxPool2D, kAvgPool2D,
  kReshape, kTranspose, kConcat, kGather,
};

const char *op_name(int op) {
  switch (op) {
    case kNeg: return "neg";
    case kAbs: return "abs";
    case kExp: return "exp";
    case kLog: return "log";
    case kSqrt: return "sqrt";
    case kRelu: return "relu";
    case kSigmoid: return "sigmoid";
    case kTanh: return "tanh";
    case kLeakyRelu: return "leaky_relu";
    case kClamp: return "clamp";
    case kRound: return "round";
    case kStopGradient: return "stop_gradient";
    case kCast: return "cast";
    case kAdd: return "add";
    case kSub: return "sub";
    case kMul: return "mul";
    case kDiv: return "div";
    case kSum: return "sum";
    case kMean: return "mean";
    case kMax: return "max";
    case kLogSumExp: return "logsumexp";
    case kArgMax: return "argmax";
    case kMatMul: return "matmul";
    case kConv2D: return "conv2d";
    case kConvTranspose2D: return "conv_transpose2d";
    case kMaxPool2D: return "max_pool2d";
    case kAvgPool2D: return "avg_pool2d";
    case kReshape: return "reshape";
    case kTranspose: return "transpose";
    case kConcat: return "concat";
    case kGather: return "gather";
  }
  return "";
}

at::ScalarType scalar_type(int dtype) {
  switch (dtype) {
    case 1: return at::kFloat;
    case 2: return at::kDouble;
    case 3: return at::kInt;
    case 4: return at::kLong;
    case 5: return at::kByte;
    case 6: return at::kBool;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(dtype));
}

icnn_tensor wrap(at::Tensor t) { return new icnn_tensor_s{std::move(t)}; }

// Runs f, turning any exception into last_error; c10 errors lose their
// C++ backtrace, which says nothing useful to a Go caller.
template <typename F>
auto guarded(F f, decltype(f()) on_error) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::Error &e) {
    set_error(e.what_without_backtrace());
  } catch (const std::exception &e) {
    set_error(e.what());
  } catch (...) {
    set_error("unknown C++ exception");
  }
  return on_error;
}

void need(bool ok, const std::string &what) {
  if (!ok) throw std::invalid_argument(what);
}

std::vector<int64_t> ints_at(const int64_t *ints, int from, int n) { return std::vector<int64_t>(ints + from, ints + from + n); }

// MATLAB rounding: halves away from zero (torch.round goes to even).
at::Tensor round_half_away(const at::Tensor &x) { return at::sign(x) * at::floor(at::abs(x) + 0.5); }

at::Tensor reduce(int op, const at::Tensor &x, const int64_t *ints, int nints) {
  need(nints >= 1, "reduction needs {keepdims, axes...}");
  bool keep = ints[0] != 0;
  std::vector<int64_t> axes = ints_at(ints, 1, nints - 1);
  if (axes.empty()) {
    // Only a scalar reduces over no axes; every reduction of one value is itself.
    need(x.dim() == 0, "reduction over no axes of a non-scalar");
    return x;
  }
  switch (op) {
    case kSum: return at::sum(x, axes, keep);
    case kMean: return at::mean(x, axes, keep);
    case kMax: return at::amax(x, axes, keep);
    case kLogSumExp: return at::logsumexp(x, axes, keep);
  }
  throw std::invalid_argument("not a reduction");
}

at::Tensor apply(int op, const std::vector<at::Tensor> &in, const int64_t *ints, int nints, const double *dbls, int ndbls) {
  auto arity = [&](size_t n) {
    need(in.size() == n, std::string(op_name(op)) + ": wants " + std::to_string(n) + " operands, got " + std::to_string(in.size()));
  };
  auto nattrs = [&](int wi, int wd) {
    need(nints == wi && ndbls == wd, std::string(op_name(op)) + ": wrong number of attributes");
  };
  switch (op) {
    case kNeg: arity(1); return at::neg(in[0]);
    case kAbs: arity(1); return at::abs(in[0]);
    case kExp: arity(1); return at::exp(in[0]);
    case kLog: arity(1); return at::log(in[0]);
    case kSqrt: arity(1); return at::sqrt(in[0]);
    case kRelu: arity(1); return at::relu(in[0]);
    case kSigmoid: arity(1); return at::sigmoid(in[0]);
    case kTanh: arity(1); return at::tanh(in[0]);
    case kLeakyRelu: arity(1); nattrs(0, 1); return at::leaky_relu(in[0], dbls[0]);
    case kClamp: {
      arity(1);
      nattrs(0, 2);
      c10::optional<at::Scalar> lo, hi;
      if (!std::isinf(dbls[0])) lo = dbls[0];
      if (!std::isinf(dbls[1])) hi = dbls[1];
      if (!lo && !hi) return in[0];
      return at::clamp(in[0], lo, hi);
    }
    case kRound: arity(1); return round_half_away(in[0].detach());
    case kStopGradient: arity(1); return in[0].detach();
    case kCast: arity(1); nattrs(1, 0); return in[0].detach().to(scalar_type((int)ints[0]));
    case kAdd: arity(2); return at::add(in[0], in[1]);
    case kSub: arity(2); return at::sub(in[0], in[1]);
    case kMul: arity(2); return at::mul(in[0], in[1]);
    case kDiv: arity(2); return at::div(in[0], in[1]);
    case kSum: case kMean: case kMax: case kLogSumExp: arity(1); return reduce(op, in[0], ints, nints);
    case kArgMax: arity(1); nattrs(1, 0); return at::argmax(in[0], ints[0], false);
    case kMatMul:
      // A third operand is a bias the Go side folded in (add(matmul(x, w), b)):
      // addmm is one GEMM with beta = 1, as torch.nn.Linear runs.
      need(in.size() == 2 || in.size() == 3, "matmul: wants 2 operands, or 3 with a bias");
      return in.size() == 3 ? at::addmm(in[2], in[0], in[1]) : at::mm(in[0], in[1]);
    case kConv2D: {
      // A third operand is a per-channel bias the Go side folded in
      // (add(conv2d(x, w), b) with b of shape [1,O,1,1]): the convolution adds
      // it itself and computes its gradient in the same backward kernel, as
      // torch.nn.Conv2d does, instead of a separate broadcast add and sum.
      need(in.size() == 2 || in.size() == 3, "conv2d: wants 2 operands, or 3 with a bias");
      nattrs(7, 0);
      at::Tensor bias = in.size() == 3 ? in[2].reshape({-1}) : at::Tensor();
      return at::conv2d(in[0], in[1], bias, ints_at(ints, 0, 2), ints_at(ints, 2, 2), ints_at(ints, 4, 2), ints[6]);
    }
    case kConvTranspose2D:
      arity(2);
      nattrs(8, 0);
      return at::conv_transpose2d(in[0], in[1], {}, ints_at(ints, 0, 2), ints_at(ints, 2, 2), ints_at(ints, 4, 2), 1,
                                  ints_at(ints, 6, 2));
    case kMaxPool2D:
      arity(1);
      nattrs(6, 0);
      return at::max_pool2d(in[0], ints_at(ints, 0, 2), ints_at(ints, 2, 2), ints_at(ints, 4, 2), {1, 1}, false);
    case kAvgPool2D:
      arity(1);
      nattrs(6, 0);
      // count_include_pad: padding counts as zeros and the divisor is always the kernel area.
      return at::avg_pool2d(in[0], ints_at(ints, 0, 2), ints_at(ints, 2, 2), ints_at(ints, 4, 2), false, true);
    case kReshape: arity(1); return at::reshape(in[0], ints_at(ints, 0, nints));
    case kTranspose: arity(1); return in[0].permute(ints_at(ints, 0, nints));
    case kConcat: need(!in.empty(), "concat: no operands"); nattrs(1, 0); return at::cat(in, ints[0]);
    case kGather: {
      // numpy.take: select along axis at the flattened indices, then give
      // the index dimensions back.
      arity(2);
      nattrs(1, 0);
      const at::Tensor &x = in[0], &idx = in[1];
      int64_t axis = ints[0];
      at::Tensor picked = at::index_select(x, axis, idx.reshape({-1}));
      std::vector<int64_t> shape(x.sizes().begin(), x.sizes().begin() + axis);
      shape.insert(shape.end(), idx.sizes().begin(), idx.sizes().end());
      shape.insert(shape.end(), x.sizes().begin() + axis + 1, x.sizes().end());
      return picked.reshape(shape);
    }
  }
  throw std::invalid_argument("op code " + std::to_string(op) + " is not computed by the shim");
}

}  // namespace

extern "C" {

int icnn_abi_version(void) { return ICNN_ABI_VERSION; }
const char *icnn_torch_version(void) { return TORCH_VERSION; }
const char *icnn_last_error(void) { return last_error.c_str(); }
const char *icnn_op_name(int op) { return op_name(op); }

int icnn_cuda_device_count(void) {
  return guarded([] { return (int)torch::cuda::device_count(); }, 0);
}

int icnn_set_num_threads(int threads) {
  // The count that matters is per OS thread (libtorch 1.13 on Debian uses
  // OpenMP, whose thread count is a per-thread setting), but
  // at::set_num_threads also has process-wide side effects: in 1.13 it
  // recreates caffe2's pthreadpool, whose new worker then busy-waits for
  // about a million spins, and it clears ideep's cache of convolution
  // primitives. Called once per training step, that took a core from every
  // 2-thread step. So only call it when this thread runs with another count.
  return guarded(
      [&] {
        if (threads > 0 && at::get_num_threads() != threads) at::set_num_threads(threads);
        return 0;
      },
      -1);
}
int icnn_get_num_threads(void) { return at::get_num_threads(); }

int icnn_set_grad_enabled(int enabled) {
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(enabled != 0);
  return prev ? 1 : 0;
}

int icnn_retain_freed_memory(void) {
#ifdef __GLIBC__
  // A training step frees and allocates the same large activations every
  // time. By default glibc hands big blocks back to the kernel (munmap, or a
  // trimmed heap) and the next step faults them in again, zeroed: some
  // 10,000 page faults per small64 step. On a thread other than the
  // process's first, where the backend runs, malloc also regrows its
  // per-thread heap by mprotect, about 800 calls per step. Keeping freed
  // memory removes both and made small64 5-25% faster (1 and 2 threads).
  // Blocks of 32 MiB and more (glibc's largest threshold) are still mapped
  // and unmapped one by one.
  const char *tunables = std::getenv("GLIBC_TUNABLES");
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_") || std::getenv("MALLOC_TOP_PAD_") ||
      (tunables && std::strstr(tunables, "glibc.malloc"))) {
    return 0;  // the user tunes malloc
  }
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  return 1;
#else
  return 0;
#endif
}

int icnn_set_allow_tf32(int allow) {
  return guarded(
      [&] {
        at::globalContext().setAllowTF32CuDNN(allow != 0);
        return 0;
      },
      -1);
}

int icnn_set_matmul_tf32(int allow) {
  return guarded(
      [&] {
        at::globalContext().setAllowTF32CuBLAS(allow != 0);
        return 0;
      },
      -1);
}

int icnn_set_cudnn_benchmark(int on) {
  return guarded(
      [&] {
        at::globalContext().setBenchmarkCuDNN(on != 0);
        return 0;
      },
      -1);
}

int icnn_set_autocast(const char *device_type, int half) {
  return guarded(
      [&] {
        std::string dev(device_type);
        need(dev == "cpu" || dev == "cuda", "autocast: device type \"" + dev + "\" is not cpu or cuda");
        need(half >= 0 && half <= 2, "autocast: mode " + std::to_string(half) + " is not 0 (off), 1 (bfloat16) or 2 (float16)");
        bool on = half != 0;
        at::ScalarType type = half == 2 ? at::kHalf : at::kBFloat16;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        at::DeviceType dt = dev == "cpu" ? at::kCPU : at::kCUDA;
        if (on) at::autocast::set_autocast_dtype(dt, type);
        at::autocast::set_autocast_enabled(dt, on);
#else
        if (dev == "cpu") {
          if (on) at::autocast::set_autocast_cpu_dtype(type);
          at::autocast::set_cpu_enabled(on);
        } else {
          if (on) at::autocast::set_autocast_gpu_dtype(type);
          at::autocast::set_enabled(on);
        }
#endif
        if (!on) at::autocast::clear_cache();
        return 0;
      },
      -1);
}

int icnn_synchronize(const char *device) {
  return guarded(
      [&] {
        at::Device d(device);
        if (d.is_cuda()) torch::cuda::synchronize(d.has_index() ? d.index() : -1);
        return 0;
      },
      -1);
}

icnn_tensor icnn_from_host(int dtype, const int64_t *shape, int ndim, const void *data, const char *device) {
  return guarded(
      [&]() -> icnn_tensor {
        std::vector<int64_t> sizes(shape, shape + ndim);
        auto type = scalar_type(dtype);
        at::Tensor host = at::from_blob(const_cast<void *>(data), sizes, at::TensorOptions().dtype(type));
        at::Device dev(device);
        if (dev.is_cuda()) {
          // Staged through pinned memory (libtorch's caching host allocator
          // reuses the block once the copy is done), the upload is queued on
          // the device's stream instead of blocking the host.
          return wrap(host.pin_memory().to(dev, type, /*non_blocking=*/true, /*copy=*/true));
        }
        // copy=true: the result owns its memory, even on the CPU.
        return wrap(host.to(dev, type, false, true));
      },
      nullptr);
}

int icnn_to_host(icnn_tensor t, int dtype, void *data, int64_t nbytes) {
  return guarded(
      [&] {
        at::Tensor host = t->t.detach().to(at::kCPU, scalar_type(dtype)).contiguous();
        int64_t have = host.numel() * (int64_t)host.element_size();
        need(have == nbytes, "to_host: tensor has " + std::to_string(have) + " bytes, buffer " + std::to_string(nbytes));
        if (nbytes > 0) std::memcpy(data, host.data_ptr(), nbytes);
        return 0;
      },
      -1);
}

void icnn_free(icnn_tensor t) { delete t; }

int icnn_shape(icnn_tensor t, int64_t *shape, int max_dims) {
  int rank = (int)t->t.dim();
  for (int i = 0; i < rank && i < max_dims; i++) shape[i] = t->t.size(i);
  return rank;
}

icnn_tensor icnn_clone(icnn_tensor t) {
  return guarded([&]() -> icnn_tensor { return wrap(t->t.detach().clone()); }, nullptr);
}

icnn_tensor icnn_channels_last(icnn_tensor t) {
  return guarded(
      [&]() -> icnn_tensor {
        need(t->t.dim() == 4, "channels_last: not a 4-D tensor");
        return wrap(t->t.detach().contiguous(at::MemoryFormat::ChannelsLast));
      },
      nullptr);
}

icnn_tensor icnn_column_major(icnn_tensor t) {
  return guarded(
      [&]() -> icnn_tensor {
        need(t->t.dim() == 2, "column_major: not a matrix");
        return wrap(t->t.detach().t().contiguous().t());
      },
      nullptr);
}

int icnn_set_requires_grad(icnn_tensor t, int requires) {
  return guarded(
      [&] {
        t->t.set_requires_grad(requires != 0);
        return 0;
      },
      -1);
}

icnn_tensor icnn_op(int op, const icnn_tensor *in, int nin, const int64_t *ints, int nints, const double *dbls, int ndbls) {
  return guarded(
      [&]() -> icnn_tensor {
        std::vector<at::Tensor> operands;
        operands.reserve(nin);
        for (int i = 0; i < nin; i++) operands.push_back(in[i]->t);
        return wrap(apply(op, operands, ints, nints, dbls, ndbls));
      },
      nullptr);
}

int icnn_grad(icnn_tensor loss, const icnn_tensor *wrt, int n, icnn_tensor *out) {
  return guarded(
      [&] {
        for (int i = 0; i < n; i++) out[i] = nullptr;
        if (!loss->t.requires_grad()) return 0;  // depends on none of wrt
        std::vector<at::Tensor> inputs;
        for (int i = 0; i < n; i++) inputs.push_back(wrt[i]->t);
        auto grads = torch::autograd::grad({loss->t}, inputs, {}, false, false, true);
        for (int i = 0; i < n; i++) {
          if (grads[i].defined()) out[i] = wrap(grads[i]);
        }
        return 0;
      },
      -1);
}

int icnn_sgd_update(icnn_tensor p, icnn_tensor g, icnn_tensor buf, double lr, double momentum, double wd) {
  return guarded(
      [&] {
        at::NoGradGuard no_grad;
        at::Tensor &w = p->t;
        at::Tensor d = wd != 0 ? g->t.add(w, wd) : g->t;
        if (buf != nullptr) {
          buf->t.mul_(momentum).add_(d);
          d = buf->t;
        }
        w.add_(d, -lr);
        return 0;
      },
      -1);
}

int icnn_adam_update(icnn_tensor p, icnn_tensor g, icnn_tensor m, icnn_tensor v, double lr, double beta1, double beta2,
                     double eps, double wd, int64_t step) {
  return guarded(
      [&] {
        at::NoGradGuard no_grad;
        at::Tensor &w = p->t;
        at::Tensor d = wd != 0 ? g->t.add(w, wd) : g->t;
        m->t.mul_(beta1).add_(d, 1 - beta1);
        v->t.mul_(beta2).addcmul_(d, d, 1 - beta2);
        double bias1 = 1 - std::pow(beta1, (double)step);
        double bias2 = 1 - std::pow(beta2, (double)step);
        at::Tensor denom = (v->t.sqrt() / std::sqrt(bias2)).add_(eps);
        w.addcdiv_(m->t, denom, -lr / bias1);
        return 0;
      },
      -1);
}

}  // extern "C"
