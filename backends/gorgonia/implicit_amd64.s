//go:build amd64 && !purego && !openblas

#include "textflag.h"

// func implicitPanelAVX512(panel *float32, rows int, rowBase *int, src *float32, runs *implicitRun, nRuns int)
//
// Writes rows panel rows of 16 floats: row r is assembled in Z0 from
// zero and one masked load per run, run s loading its lanes (mask) from
// src[rowBase[r] + off + lane] (off already holds the run's offset minus
// its first lane, so lane l reads src[rowBase[r] + off + l]). Masked-out
// lanes are neither read (no fault past the planes) nor changed, so the
// lanes past the last pixel stay zero.
TEXT ·implicitPanelAVX512(SB), NOSPLIT, $0-48
	MOVQ panel+0(FP), DI
	MOVQ rows+8(FP), CX
	MOVQ rowBase+16(FP), SI
	MOVQ src+24(FP), DX
	MOVQ runs+32(FP), R8
	MOVQ nRuns+40(FP), R9
	TESTQ CX, CX
	JEQ done
	CMPQ R9, $1
	JNE row

	// One run: if it fills all 16 lanes, each row is one plain copy.
	KMOVW 8(R8), K1
	KORTESTW K1, K1
	JNC row // not all ones
	MOVQ (R8), BX
	LEAQ (DX)(BX*4), DX // src + off

single:
	MOVQ (SI), AX
	VMOVUPS (DX)(AX*4), Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $8, SI
	DECQ CX
	JNE single
	JMP done

row:
	MOVQ (SI), AX
	LEAQ (DX)(AX*4), AX // &src[rowBase[r]]
	VPXORD Z0, Z0, Z0
	MOVQ R8, R10
	MOVQ R9, R11

run:
	MOVQ (R10), BX
	KMOVW 8(R10), K1
	VMOVUPS (AX)(BX*4), K1, Z0
	ADDQ $16, R10
	DECQ R11
	JNE run
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $8, SI
	DECQ CX
	JNE row

done:
	VZEROUPPER
	RET
