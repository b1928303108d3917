//go:build amd64 && !purego && !openblas

#include "textflag.h"

// func addRowsAVX2(rows, cols int, src *float32, srcStride int, dst *float32, dstStride int)
//
// dst[r·dstStride + j] += src[r·srcStride + j] for r in [0, rows), j in
// [0, cols): eight columns at a time, then four, then one. Each element
// gets one single-precision add, as in the scalar loop.
TEXT ·addRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ rows+0(FP), R8
	MOVQ cols+8(FP), R9
	MOVQ src+16(FP), SI
	MOVQ srcStride+24(FP), R10
	MOVQ dst+32(FP), DI
	MOVQ dstStride+40(FP), R11
	SHLQ $2, R10
	SHLQ $2, R11

row:
	TESTQ R8, R8
	JZ done
	XORQ AX, AX
	MOVQ R9, CX

by8:
	CMPQ CX, $8
	JLT by4
	VMOVUPS (DI)(AX*4), Y0
	VADDPS (SI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	SUBQ $8, CX
	JMP by8

by4:
	CMPQ CX, $4
	JLT by1
	VMOVUPS (DI)(AX*4), X0
	VADDPS (SI)(AX*4), X0, X0
	VMOVUPS X0, (DI)(AX*4)
	ADDQ $4, AX
	SUBQ $4, CX

by1:
	TESTQ CX, CX
	JZ next
	VMOVSS (DI)(AX*4), X0
	VADDSS (SI)(AX*4), X0, X0
	VMOVSS X0, (DI)(AX*4)
	INCQ AX
	DECQ CX
	JMP by1

next:
	ADDQ R10, SI
	ADDQ R11, DI
	DECQ R8
	JMP row

done:
	VZEROUPPER
	RET
