//go:build amd64 && !purego && !openblas

#include "textflag.h"

// func biasReluAVX2(row *float32, n int, b float32)
//
// row[i] = row[i] + b where that sum is > 0, and +0 elsewhere (NaN
// included), for i < n, n a multiple of 8: the scalar rectify(row[i] + b)
// eight lanes at a time (the same float32 addition, then a mask).
TEXT ·biasReluAVX2(SB), NOSPLIT, $0-20
	MOVQ row+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS b+16(FP), Y1
	VXORPS Y2, Y2, Y2
	SHRQ $3, CX
	JEQ done

loop:
	VADDPS 0(SI), Y1, Y0
	VCMPPS $0x1e, Y2, Y0, Y3 // Y3 = Y0 > 0 (ordered: false for NaN)
	VANDPS Y3, Y0, Y0
	VMOVUPS Y0, 0(SI)
	ADDQ $32, SI
	DECQ CX
	JNE loop

done:
	VZEROUPPER
	RET

// func reluGradAVX2(y, dy, dz *float32, n int)
//
// dz[i] = dy[i] where y[i] > 0 and +0 elsewhere, for i < n, n a multiple
// of 8: the scalar keepIf(dy[i], y[i] > 0) eight lanes at a time.
TEXT ·reluGradAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), SI
	MOVQ dy+8(FP), DX
	MOVQ dz+16(FP), DI
	MOVQ n+24(FP), CX
	VXORPS Y2, Y2, Y2
	SHRQ $3, CX
	JEQ done

loop:
	VMOVUPS 0(SI), Y0
	VCMPPS $0x1e, Y2, Y0, Y3 // Y3 = y > 0
	VANDPS 0(DX), Y3, Y3
	VMOVUPS Y3, 0(DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNE loop

done:
	VZEROUPPER
	RET
