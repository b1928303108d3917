//go:build cgo

package libtorch

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include "csrc/icnn_torch.h"

// The shim's entry points, resolved by dlsym: the shared library is never
// linked at build time, so building icnnlab needs no libtorch.
typedef struct {
	int (*abi_version)(void);
	const char *(*torch_version)(void);
	const char *(*last_error)(void);
	int (*cuda_device_count)(void);
	int (*set_num_threads)(int);
	int (*get_num_threads)(void);
	int (*set_grad_enabled)(int);
	int (*synchronize)(const char *);
	int (*set_allow_tf32)(int);
	int (*set_matmul_tf32)(int);
	int (*set_cudnn_benchmark)(int);
	int (*set_autocast)(const char *, int);
	icnn_tensor (*channels_last)(icnn_tensor);
	int (*retain_freed_memory)(void);
	icnn_tensor (*from_host)(int, const int64_t *, int, const void *, const char *);
	int (*to_host)(icnn_tensor, int, void *, int64_t);
	void (*free)(icnn_tensor);
	int (*shape)(icnn_tensor, int64_t *, int);
	icnn_tensor (*clone)(icnn_tensor);
	icnn_tensor (*column_major)(icnn_tensor);
	int (*set_requires_grad)(icnn_tensor, int);
	icnn_tensor (*op)(int, const icnn_tensor *, int, const int64_t *, int, const double *, int);
	const char *(*op_name)(int);
	int (*grad)(icnn_tensor, const icnn_tensor *, int, icnn_tensor *);
	int (*sgd_update)(icnn_tensor, icnn_tensor, icnn_tensor, double, double, double);
	int (*adam_update)(icnn_tensor, icnn_tensor, icnn_tensor, icnn_tensor, double, double, double, double, double, int64_t);
} icnn_api;

static icnn_api api;

static char *icnn_load(const char *path) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) return strdup(dlerror());
#define ICNN_SYM(name) \
	*(void **)(&api.name) = dlsym(h, "icnn_" #name); \
	if (api.name == NULL) return strdup("missing symbol icnn_" #name);
	ICNN_SYM(abi_version) ICNN_SYM(torch_version) ICNN_SYM(last_error) ICNN_SYM(cuda_device_count)
	ICNN_SYM(set_num_threads) ICNN_SYM(get_num_threads) ICNN_SYM(set_grad_enabled) ICNN_SYM(synchronize)
	ICNN_SYM(set_allow_tf32) ICNN_SYM(set_matmul_tf32) ICNN_SYM(set_cudnn_benchmark) ICNN_SYM(set_autocast)
	ICNN_SYM(channels_last) ICNN_SYM(retain_freed_memory)
	ICNN_SYM(from_host) ICNN_SYM(to_host) ICNN_SYM(free) ICNN_SYM(shape) ICNN_SYM(clone)
	ICNN_SYM(column_major)
	ICNN_SYM(set_requires_grad) ICNN_SYM(op) ICNN_SYM(op_name) ICNN_SYM(grad) ICNN_SYM(sgd_update)
	ICNN_SYM(adam_update)
#undef ICNN_SYM
	return NULL;
}

// Each wrapper copies the shim's thread-local error inside the same C call,
// before the goroutine can move to another thread.
static char *icnn_err(void) { return strdup(api.last_error()); }

static int w_abi_version(void) { return api.abi_version(); }
static const char *w_torch_version(void) { return api.torch_version(); }
static int w_cuda_device_count(void) { return api.cuda_device_count(); }
static char *w_set_num_threads(int n) { return api.set_num_threads(n) == 0 ? NULL : icnn_err(); }
static int w_get_num_threads(void) { return api.get_num_threads(); }
static int w_set_grad_enabled(int on) { return api.set_grad_enabled(on); }
static char *w_set_allow_tf32(int on) { return api.set_allow_tf32(on) == 0 ? NULL : icnn_err(); }
static char *w_set_matmul_tf32(int on) { return api.set_matmul_tf32(on) == 0 ? NULL : icnn_err(); }
static char *w_set_cudnn_benchmark(int on) { return api.set_cudnn_benchmark(on) == 0 ? NULL : icnn_err(); }
static char *w_set_autocast(const char *dev, int half) { return api.set_autocast(dev, half) == 0 ? NULL : icnn_err(); }
static icnn_tensor w_channels_last(icnn_tensor t, char **err) {
	icnn_tensor r = api.channels_last(t);
	if (r == NULL) *err = icnn_err();
	return r;
}
static int w_retain_freed_memory(void) { return api.retain_freed_memory(); }
static const char *w_op_name(int op) { return api.op_name(op); }
static void w_free(icnn_tensor t) { api.free(t); }
static int w_shape(icnn_tensor t, int64_t *s, int n) { return api.shape(t, s, n); }

static char *w_synchronize(const char *device) {
	return api.synchronize(device) == 0 ? NULL : icnn_err();
}
static icnn_tensor w_from_host(int dt, const int64_t *shape, int nd, const void *data, const char *dev, char **err) {
	icnn_tensor t = api.from_host(dt, shape, nd, data, dev);
	if (t == NULL) *err = icnn_err();
	return t;
}
static char *w_to_host(icnn_tensor t, int dt, void *data, int64_t n) {
	return api.to_host(t, dt, data, n) == 0 ? NULL : icnn_err();
}
static icnn_tensor w_clone(icnn_tensor t, char **err) {
	icnn_tensor r = api.clone(t);
	if (r == NULL) *err = icnn_err();
	return r;
}
static icnn_tensor w_column_major(icnn_tensor t, char **err) {
	icnn_tensor r = api.column_major(t);
	if (r == NULL) *err = icnn_err();
	return r;
}
static char *w_set_requires_grad(icnn_tensor t, int on) {
	return api.set_requires_grad(t, on) == 0 ? NULL : icnn_err();
}
static icnn_tensor w_op(int op, const icnn_tensor *in, int nin, const int64_t *ints, int ni, const double *d, int nd, char **err) {
	icnn_tensor r = api.op(op, in, nin, ints, ni, d, nd);
	if (r == NULL) *err = icnn_err();
	return r;
}
static char *w_grad(icnn_tensor loss, const icnn_tensor *wrt, int n, icnn_tensor *out) {
	return api.grad(loss, wrt, n, out) == 0 ? NULL : icnn_err();
}
static char *w_sgd_update(icnn_tensor p, icnn_tensor g, icnn_tensor buf, double lr, double mom, double wd) {
	return api.sgd_update(p, g, buf, lr, mom, wd) == 0 ? NULL : icnn_err();
}
static char *w_adam_update(icnn_tensor p, icnn_tensor g, icnn_tensor m, icnn_tensor v, double lr, double b1, double b2,
                           double eps, double wd, int64_t step) {
	return api.adam_update(p, g, m, v, lr, b1, b2, eps, wd, step) == 0 ? NULL : icnn_err();
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"github.com/icnnlab/icnnlab/sdk/graph"
	"github.com/icnnlab/icnnlab/sdk/tensor"
)

// TF32Env set to 1 lets cuDNN convolutions and cuBLAS matrix products use
// TF32 (torch.backends.cudnn.allow_tf32 and
// torch.backends.cuda.matmul.allow_tf32); by default both run in exact
// float32.
const TF32Env = "ICNNLAB_LIBTORCH_TF32"

// CuDNNBenchmarkEnv set to 1 has cuDNN time its convolution algorithms for
// each new input shape and keep the fastest (torch.backends.cudnn.benchmark).
const CuDNNBenchmarkEnv = "ICNNLAB_LIBTORCH_CUDNN_BENCHMARK"

// abiVersion must equal ICNN_ABI_VERSION in csrc/icnn_torch.h.
const abiVersion = 3

// handle is one libtorch tensor owned by the Go side; release it with free.
type handle = C.icnn_tensor

var (
	loadOnce    sync.Once
	loadErr     error
	loadedPath  string
	loadedTorch string
	// retainsFreedMemory: malloc keeps freed memory (icnn_retain_freed_memory).
	retainsFreedMemory bool
)

// load opens the shim once per process. The first successful path wins:
// libtorch cannot be loaded twice into one process.
func load() error {
	loadOnce.Do(func() {
		path, err := FindShim()
		if err != nil {
			loadErr = err
			return
		}
		cpath := C.CString(path)
		defer C.free(unsafe.Pointer(cpath))
		if msg := C.icnn_load(cpath); msg != nil {
			loadErr = fmt.Errorf("load the libtorch shim %s: %s (rebuild it with: icnnlab backend build libtorch)", path, takeError(msg))
			return
		}
		if v := int(C.w_abi_version()); v != abiVersion {
			loadErr = fmt.Errorf("the libtorch shim %s speaks ABI %d, this icnnlab wants %d: rebuild it with: icnnlab backend build libtorch", path, v, abiVersion)
			return
		}
		// TF32 rounds inputs to 10-bit mantissas: off unless asked.
		tf32 := cBool(os.Getenv(TF32Env) == "1")
		for what, msg := range map[string]*C.char{
			"cuDNN TF32":      C.w_set_allow_tf32(tf32),
			"matmul TF32":     C.w_set_matmul_tf32(tf32),
			"cuDNN benchmark": C.w_set_cudnn_benchmark(cBool(os.Getenv(CuDNNBenchmarkEnv) == "1")),
		} {
			if err := errorOf(msg); err != nil {
				loadErr = fmt.Errorf("the libtorch shim %s: set %s: %w", path, what, err)
				return
			}
		}
		// Before any tensor exists: freed activations stay in the process
		// for the next step (see icnn_retain_freed_memory).
		retainsFreedMemory = C.w_retain_freed_memory() != 0
		loadedPath = path
		loadedTorch = C.GoString(C.w_torch_version())
	})
	return loadErr
}

// takeError converts and frees an error string from a wrapper.
func takeError(msg *C.char) string {
	defer C.free(unsafe.Pointer(msg))
	return C.GoString(msg)
}

func errorOf(msg *C.char) error {
	if msg == nil {
		return nil
	}
	return errors.New(takeError(msg))
}

// setAutocast switches autocast for the ops that follow on this OS thread:
// half 0 is off (dropping autocast's cache of cast weights), 1 bfloat16,
// 2 float16.
func setAutocast(deviceType string, half int) error {
	cdev := C.CString(deviceType)
	defer C.free(unsafe.Pointer(cdev))
	return errorOf(C.w_set_autocast(cdev, C.int(half)))
}

// synchronize waits for the work queued on a CUDA device (no-op on the CPU).
func synchronize(device string) error {
	cdev := C.CString(device)
	defer C.free(unsafe.Pointer(cdev))
	return errorOf(C.w_synchronize(cdev))
}

// channelsLast returns a channels-last copy of the 4-D tensor h.
func channelsLast(h handle) (handle, error) {
	var msg *C.char
	r := C.w_channels_last(h, &msg)
	return r, errorOf(msg)
}

func cudaDeviceCount() int      { return int(C.w_cuda_device_count()) }
func setNumThreads(n int) error { return errorOf(C.w_set_num_threads(C.int(n))) }
func numThreads() int           { return int(C.w_get_num_threads()) }
func opName(op graph.Op) string { return C.GoString(C.w_op_name(C.int(op))) }
func free(h handle)             { C.w_free(h) }

// setGradEnabled switches autograd recording and returns the previous setting.
func setGradEnabled(on bool) bool { return C.w_set_grad_enabled(cBool(on)) != 0 }

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// dataPointer is the start of t's backing slice (nil when empty). The
// slices hold no Go pointers, so C may read or write them during a call.
func dataPointer(t *tensor.Tensor) unsafe.Pointer {
	if t.Len() == 0 {
		return nil
	}
	switch t.DType() {
	case tensor.Float32:
		return unsafe.Pointer(&t.Float32s()[0])
	case tensor.Float64:
		return unsafe.Pointer(&t.Float64s()[0])
	case tensor.Int32:
		return unsafe.Pointer(&t.Int32s()[0])
	case tensor.Int64:
		return unsafe.Pointer(&t.Int64s()[0])
	case tensor.Uint8:
		return unsafe.Pointer(&t.Uint8s()[0])
	case tensor.Bool:
		return unsafe.Pointer(&t.Bools()[0])
	}
	return nil
}

func cShape(s tensor.Shape) []C.int64_t {
	out := make([]C.int64_t, len(s)+1) // +1: never empty, so &out[0] is valid for scalars
	for i, d := range s {
		out[i] = C.int64_t(d)
	}
	return out
}

// fromHost copies t onto device.
func fromHost(t *tensor.Tensor, device string) (handle, error) {
	shape := cShape(t.Shape())
	cdev := C.CString(device)
	defer C.free(unsafe.Pointer(cdev))
	var msg *C.char
	h := C.w_from_host(C.int(t.DType()), &shape[0], C.int(t.Rank()), dataPointer(t), cdev, &msg)
	if h == nil {
		return nil, fmt.Errorf("copy %v%v to %s: %w", t.DType(), t.Shape(), device, errorOf(msg))
	}
	return h, nil
}

// toHost copies h into a new host tensor of the given dtype and shape.
func toHost(h handle, dt tensor.DType, shape tensor.Shape) (*tensor.Tensor, error) {
	t := tensor.Zeros(dt, shape...)
	nbytes := C.int64_t(t.Len() * dt.Size())
	if err := errorOf(C.w_to_host(h, C.int(dt), dataPointer(t), nbytes)); err != nil {
		return nil, fmt.Errorf("copy to host as %v%v: %w", dt, shape, err)
	}
	return t, nil
}

func shapeOf(h handle) tensor.Shape {
	var dims [16]C.int64_t
	rank := int(C.w_shape(h, &dims[0], C.int(len(dims))))
	s := make(tensor.Shape, min(rank, len(dims)))
	for i := range s {
		s[i] = int(dims[i])
	}
	return s
}

func clone(h handle) (handle, error) {
	var msg *C.char
	r := C.w_clone(h, &msg)
	if r == nil {
		return nil, errorOf(msg)
	}
	return r, nil
}

// columnMajor returns a column-major copy of the matrix h.
func columnMajor(h handle) (handle, error) {
	var msg *C.char
	r := C.w_column_major(h, &msg)
	if r == nil {
		return nil, errorOf(msg)
	}
	return r, nil
}

func setRequiresGrad(h handle, on bool) error { return errorOf(C.w_set_requires_grad(h, cBool(on))) }

// apply runs one IR op on the shim.
func apply(op graph.Op, in []handle, ints []int64, dbls []float64) (handle, error) {
	cin := make([]handle, len(in)+1)
	copy(cin, in)
	cints := make([]C.int64_t, len(ints)+1)
	for i, v := range ints {
		cints[i] = C.int64_t(v)
	}
	cdbls := make([]C.double, len(dbls)+1)
	for i, v := range dbls {
		cdbls[i] = C.double(v)
	}
	var msg *C.char
	r := C.w_op(C.int(op), &cin[0], C.int(len(in)), &cints[0], C.int(len(ints)), &cdbls[0], C.int(len(dbls)), &msg)
	if r == nil {
		return nil, errorOf(msg)
	}
	return r, nil
}

// gradients returns d loss / d wrt[i]; nil where the loss does not depend on wrt[i].
func gradients(loss handle, wrt []handle) ([]handle, error) {
	cw := make([]handle, len(wrt)+1)
	copy(cw, wrt)
	out := make([]handle, len(wrt)+1)
	if err := errorOf(C.w_grad(loss, &cw[0], C.int(len(wrt)), &out[0])); err != nil {
		return nil, err
	}
	return out[:len(wrt)], nil
}

func sgdUpdate(p, g, buf handle, lr, momentum, wd float64) error {
	return errorOf(C.w_sgd_update(p, g, buf, C.double(lr), C.double(momentum), C.double(wd)))
}

func adamUpdate(p, g, m, v handle, lr, b1, b2, eps, wd float64, step int64) error {
	return errorOf(C.w_adam_update(p, g, m, v, C.double(lr), C.double(b1), C.double(b2), C.double(eps), C.double(wd), C.int64_t(step)))
}
