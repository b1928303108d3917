//go:build amd64 && !purego && !openblas

#include "textflag.h"

// Constants of exp32 (fastexp.go), one float32 or int32 each, broadcast.
DATA expConst<>+0(SB)/4, $0x3fb8aa3b   // log2(e)
DATA expConst<>+4(SB)/4, $0x3f318000   // ln2Hi  0.693359375
DATA expConst<>+8(SB)/4, $0xb95e8083   // ln2Lo -2.12194440e-4
DATA expConst<>+12(SB)/4, $0x39506967  // p0 1.9875691500e-4
DATA expConst<>+16(SB)/4, $0x3ab743ce  // p1 1.3981999507e-3
DATA expConst<>+20(SB)/4, $0x3c088908  // p2 8.3334519073e-3
DATA expConst<>+24(SB)/4, $0x3d2aa9c1  // p3 4.1665795894e-2
DATA expConst<>+28(SB)/4, $0x3e2aaaaa  // p4 1.6666665459e-1
DATA expConst<>+32(SB)/4, $0x3f000000  // p5 5.0000001201e-1
DATA expConst<>+36(SB)/4, $0x3f800000  // 1
DATA expConst<>+40(SB)/4, $0x42b17217  // hi  88.72283
DATA expConst<>+44(SB)/4, $0xc2cff1b4  // lo -103.97208
DATA expConst<>+48(SB)/4, $0x7f800000  // +Inf
DATA expConst<>+52(SB)/4, $127         // exponent bias
GLOBL expConst<>(SB), RODATA|NOPTR, $56

// func expAVX2(dst, src *float32, n int)
//
// dst[i] = exp32(src[i]) for i < n, n a multiple of 8: the same steps as
// exp32, eight lanes at a time, with FMA for the multiply-adds.
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   done
	VBROADCASTSS expConst<>+0(SB), Y15  // log2e
	VBROADCASTSS expConst<>+4(SB), Y14  // ln2Hi
	VBROADCASTSS expConst<>+8(SB), Y13  // ln2Lo
	VBROADCASTSS expConst<>+40(SB), Y12 // hi
	VBROADCASTSS expConst<>+44(SB), Y11 // lo
	VPBROADCASTD expConst<>+52(SB), Y10 // bias

loop:
	VMOVUPS (SI), Y0                    // x
	VMAXPS  Y11, Y0, Y1                 // clamp into [lo, hi] (NaN lanes are fixed below)
	VMINPS  Y12, Y1, Y1
	VMULPS  Y15, Y1, Y2                 // x·log2e
	VROUNDPS $0, Y2, Y2                 // n, to nearest
	VMOVAPS Y1, Y3                      // r = x − n·ln2Hi − n·ln2Lo
	VFNMADD231PS Y14, Y2, Y3
	VFNMADD231PS Y13, Y2, Y3
	VBROADCASTSS expConst<>+12(SB), Y4  // p = ((((p0·r + p1)·r + p2)·r + p3)·r + p4)·r + p5
	VBROADCASTSS expConst<>+16(SB), Y5
	VFMADD213PS Y5, Y3, Y4
	VBROADCASTSS expConst<>+20(SB), Y5
	VFMADD213PS Y5, Y3, Y4
	VBROADCASTSS expConst<>+24(SB), Y5
	VFMADD213PS Y5, Y3, Y4
	VBROADCASTSS expConst<>+28(SB), Y5
	VFMADD213PS Y5, Y3, Y4
	VBROADCASTSS expConst<>+32(SB), Y5
	VFMADD213PS Y5, Y3, Y4
	VMULPS  Y3, Y3, Y6                  // r²
	VFMADD213PS Y3, Y6, Y4              // y = p·r² + r
	VBROADCASTSS expConst<>+36(SB), Y5
	VADDPS  Y5, Y4, Y4                  // + 1
	VCVTPS2DQ Y2, Y2                    // n as int32
	VPSRAD  $1, Y2, Y7                  // h = n >> 1
	VPSUBD  Y7, Y2, Y8                  // n − h
	VPADDD  Y10, Y7, Y7
	VPSLLD  $23, Y7, Y7                 // 2^h
	VPADDD  Y10, Y8, Y8
	VPSLLD  $23, Y8, Y8                 // 2^(n−h)
	VMULPS  Y7, Y4, Y4
	VMULPS  Y8, Y4, Y4
	VCMPPS  $0x1e, Y12, Y0, Y9          // x > hi: +Inf
	VBROADCASTSS expConst<>+48(SB), Y5
	VBLENDVPS Y9, Y5, Y4, Y4
	VCMPPS  $0x11, Y11, Y0, Y9          // x < lo: 0
	VXORPS  Y5, Y5, Y5
	VBLENDVPS Y9, Y5, Y4, Y4
	VCMPPS  $3, Y0, Y0, Y9              // NaN stays NaN
	VBLENDVPS Y9, Y0, Y4, Y4
	VMOVUPS Y4, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     loop
	VZEROUPPER

done:
	RET
