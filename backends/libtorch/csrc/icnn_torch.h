/*
 * icnn_torch.h: icnnlab's C ABI over libtorch's C++ API.
 *
 * The Go backend (backends/libtorch) loads libicnnlab_torch.so with dlopen at
 * run time and calls only what is declared here, so the Go build never needs
 * libtorch and one Go binary works with any libtorch the shim was built
 * against (Debian's 1.13 on the CPU, a PyTorch 2.x wheel with CUDA).
 *
 * Conventions:
 *   - A tensor handle owns one at::Tensor; free it with icnn_free.
 *   - Functions returning a handle return NULL on failure; functions
 *     returning int return 0 on success and -1 on failure. Either way
 *     icnn_last_error() (per thread) then says what went wrong.
 *   - Op codes are the numeric values of sdk/graph's Op; dtype codes are
 *     sdk/tensor's DType (1 float32, 2 float64, 3 int32, 4 int64, 5 uint8,
 *     6 bool).
 */
#ifndef ICNN_TORCH_H
#define ICNN_TORCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a declaration below changes meaning. */
#define ICNN_ABI_VERSION 3

typedef struct icnn_tensor_s *icnn_tensor;

int icnn_abi_version(void);
/* The libtorch version the shim was compiled against, e.g. "1.13.0". */
const char *icnn_torch_version(void);
const char *icnn_last_error(void);
/* Number of CUDA devices libtorch can use (0 without CUDA). */
int icnn_cuda_device_count(void);
int icnn_set_num_threads(int threads);
int icnn_get_num_threads(void);
/* Returns the previous setting. */
int icnn_set_grad_enabled(int enabled);
/* Lets cuDNN convolutions use TF32 on GPUs that have it (PyTorch's
 * default); the backend turns it off unless asked, for exact float32. */
int icnn_set_allow_tf32(int allow);
/* Lets CUDA matrix products (cuBLAS) use TF32: PyTorch's
 * torch.backends.cuda.matmul.allow_tf32. */
int icnn_set_matmul_tf32(int allow);
/* cuDNN autotuning of convolution algorithms per input shape:
 * torch.backends.cudnn.benchmark. */
int icnn_set_cudnn_benchmark(int on);
/* Autocast of the ops that follow on this thread, for device type "cpu" or
 * "cuda": 0 turns it off (and drops the cast weights it cached), 1 runs
 * eligible ops in bfloat16, 2 in float16. Autocast's cache of cast weights
 * must be dropped whenever weights change, so callers turn it off after
 * each forward pass, as leaving torch.autocast() does. */
int icnn_set_autocast(const char *device_type, int half);
/* A detached copy of the 4-D t in channels-last memory format (same shape
 * and values; NHWC strides), as x.contiguous(memory_format=channels_last). */
icnn_tensor icnn_channels_last(icnn_tensor t);
/* Has glibc's malloc keep freed memory for reuse instead of returning it
 * to the kernel (process-wide; skipped when the environment already tunes
 * malloc). Returns 1 when applied. */
int icnn_retain_freed_memory(void);
/* Waits for queued work on a CUDA device (no-op on the CPU). */
int icnn_synchronize(const char *device);

/* Copies a dense row-major host buffer of the given dtype onto device. For
 * a CUDA device the copy goes through pinned memory and does not wait for
 * the GPU (later work on the device is ordered after it). */
icnn_tensor icnn_from_host(int dtype, const int64_t *shape, int ndim, const void *data, const char *device);
/* Copies t (converted to dtype) into a host buffer of exactly nbytes. */
int icnn_to_host(icnn_tensor t, int dtype, void *data, int64_t nbytes);
void icnn_free(icnn_tensor t);
/* Shape of t: writes up to max_dims sizes and returns the rank, -1 on error. */
int icnn_shape(icnn_tensor t, int64_t *shape, int max_dims);
/* A detached copy with its own storage. */
icnn_tensor icnn_clone(icnn_tensor t);
/* A detached copy of the 2-D t stored column-major (same shape and values,
 * strides {1, rows}): the layout torch.nn.Linear keeps its weight in, for
 * which matmul and its backward make the fastest BLAS calls. */
icnn_tensor icnn_column_major(icnn_tensor t);
/* Marks a leaf as requiring gradients (or not). */
int icnn_set_requires_grad(icnn_tensor t, int requires);

/*
 * Applies one IR op. ints and dbls carry the op's attributes:
 *   leaky_relu  dbls {alpha}
 *   clamp       dbls {lo, hi} (±Inf means unbounded)
 *   cast        ints {dtype}
 *   sum, mean, max, logsumexp   ints {keepdims, axis...}
 *   argmax, concat, gather      ints {axis}
 *   conv2d      ints {stride h,w, padding h,w, dilation h,w, groups}
 *               operands {x, w} or {x, w, bias}: bias holds one value per
 *               output channel (any shape with O elements)
 *   matmul      operands {x, w} or {x, w, bias}: x·w + bias, bias
 *               broadcastable to the result (addmm)
 *   conv_transpose2d ints {stride h,w, padding h,w, output padding h,w, dilation h,w}
 *   max_pool2d, avg_pool2d      ints {kernel h,w, stride h,w, padding h,w}
 *   reshape     ints {shape...}
 *   transpose   ints {perm...}
 * Leaves, dropout and mode_switch are resolved by the caller.
 */
icnn_tensor icnn_op(int op, const icnn_tensor *in, int nin, const int64_t *ints, int nints, const double *dbls, int ndbls);
/* Human-readable name of an op code, as sdk/graph spells it ("" if unknown). */
const char *icnn_op_name(int op);

/*
 * d loss / d wrt[i] into out[i] (NULL where the loss does not depend on
 * wrt[i]). The graph is freed afterwards.
 */
int icnn_grad(icnn_tensor loss, const icnn_tensor *wrt, int n, icnn_tensor *out);

/*
 * In-place optimizer updates, PyTorch semantics (see backends/backends.go):
 *   SGD:  g' = g + wd·p; buf = momentum·buf + g'; p -= lr·buf
 *         (buf may be NULL when momentum is 0: p -= lr·g')
 *   Adam: g' = g + wd·p; m = b1·m + (1-b1)·g'; v = b2·v + (1-b2)·g'²;
 *         p -= lr/(1-b1^t) · m / (sqrt(v)/sqrt(1-b2^t) + eps)
 */
int icnn_sgd_update(icnn_tensor p, icnn_tensor g, icnn_tensor buf, double lr, double momentum, double wd);
int icnn_adam_update(icnn_tensor p, icnn_tensor g, icnn_tensor m, icnn_tensor v, double lr, double beta1,
                     double beta2, double eps, double wd, int64_t step);

#ifdef __cplusplus
}
#endif

#endif
