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

// func mergePairsAVX2(n int, even, odd, dst *float32)
//
// dst[2m] += even[m], dst[2m+1] += odd[m] for m in [0, n): eight pairs at
// a time, then four, then one. Each element gets one single-precision
// add with dst as the first operand, as in the scalar loop.
TEXT ·mergePairsAVX2(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ even+8(FP), SI
	MOVQ odd+16(FP), DX
	MOVQ dst+24(FP), DI

merge8:
	CMPQ CX, $8
	JLT merge4
	VMOVUPS (SI), Y0
	VMOVUPS (DX), Y1
	// Y2 = e0 o0 e1 o1 | e4 o4 e5 o5, Y3 = e2 o2 e3 o3 | e6 o6 e7 o7.
	VUNPCKLPS Y1, Y0, Y2
	VUNPCKHPS Y1, Y0, Y3
	VPERM2F128 $0x20, Y3, Y2, Y4
	VPERM2F128 $0x31, Y3, Y2, Y5
	VMOVUPS (DI), Y6
	VMOVUPS 32(DI), Y7
	VADDPS Y4, Y6, Y6
	VADDPS Y5, Y7, Y7
	VMOVUPS Y6, (DI)
	VMOVUPS Y7, 32(DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $64, DI
	SUBQ $8, CX
	JMP merge8

merge4:
	CMPQ CX, $4
	JLT merge1
	VMOVUPS (SI), X0
	VMOVUPS (DX), X1
	VUNPCKLPS X1, X0, X2
	VUNPCKHPS X1, X0, X3
	VMOVUPS (DI), X6
	VMOVUPS 16(DI), X7
	VADDPS X2, X6, X6
	VADDPS X3, X7, X7
	VMOVUPS X6, (DI)
	VMOVUPS X7, 16(DI)
	ADDQ $16, SI
	ADDQ $16, DX
	ADDQ $32, DI
	SUBQ $4, CX

merge1:
	TESTQ CX, CX
	JZ mergeDone
	VMOVSS (DI), X6
	VADDSS (SI), X6, X6
	VMOVSS X6, (DI)
	VMOVSS 4(DI), X7
	VADDSS (DX), X7, X7
	VMOVSS X7, 4(DI)
	ADDQ $4, SI
	ADDQ $4, DX
	ADDQ $8, DI
	DECQ CX
	JMP merge1

mergeDone:
	VZEROUPPER
	RET
