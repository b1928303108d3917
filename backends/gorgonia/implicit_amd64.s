//go:build amd64 && !purego && !openblas

#include "go_asm.h"
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
	CMPQ R9, $2
	JEQ two
	CMPQ R9, $1
	JNE row

	// One run: if it fills all 16 lanes, each row is one plain copy.
	KMOVW implicitRun_mask(R8), K1
	KORTESTW K1, K1
	JNC row // not all ones
	MOVQ implicitRun_off(R8), BX
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

two:
	// Two runs (a panel across two output rows, the usual case): their
	// offsets and masks stay in registers. The first load zeroes the
	// lanes outside its mask, the second fills its own.
	MOVQ implicitRun_off(R8), R12
	KMOVW implicitRun_mask(R8), K1
	MOVQ (implicitRun__size+implicitRun_off)(R8), R13
	KMOVW (implicitRun__size+implicitRun_mask)(R8), K2
	LEAQ (DX)(R12*4), R12 // src + first run's offset
	LEAQ (DX)(R13*4), R13 // src + second run's offset

pair:
	MOVQ (SI), AX
	VMOVUPS.Z (R12)(AX*4), K1, Z0
	VMOVUPS (R13)(AX*4), K2, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $8, SI
	DECQ CX
	JNE pair
	JMP done

row:
	MOVQ (SI), AX
	LEAQ (DX)(AX*4), AX // &src[rowBase[r]]
	VPXORD Z0, Z0, Z0
	MOVQ R8, R10
	MOVQ R9, R11

run:
	MOVQ implicitRun_off(R10), BX
	KMOVW implicitRun_mask(R10), K1
	VMOVUPS (AX)(BX*4), K1, Z0
	ADDQ $implicitRun__size, R10
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

// func copyRowsAVX512(dst *float32, dstStride int, src *float32, srcStride int, rows, full int, tail uint64)
//
// Copies rows rows from src to dst (row strides in floats): full floats
// (a multiple of 16) 16 at a time, then the lanes of mask tail, so that
// nothing around the rows in dst is written: the padding of the implicit
// packer's planes stays as it is.
TEXT ·copyRowsAVX512(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ dstStride+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ srcStride+24(FP), R9
	MOVQ rows+32(FP), CX
	MOVQ full+40(FP), R10
	MOVQ tail+48(FP), AX
	KMOVW AX, K1
	SHLQ $2, R8
	SHLQ $2, R9
	TESTQ CX, CX
	JEQ copydone

copyrow:
	XORQ AX, AX

copyfull:
	CMPQ AX, R10
	JGE copytail
	VMOVUPS (SI)(AX*4), Z0
	VMOVUPS Z0, (DI)(AX*4)
	ADDQ $16, AX
	JMP copyfull

copytail:
	VMOVUPS.Z (SI)(AX*4), K1, Z0
	VMOVUPS Z0, K1, (DI)(AX*4)
	ADDQ R9, SI
	ADDQ R8, DI
	DECQ CX
	JNE copyrow

copydone:
	VZEROUPPER
	RET

// Lane indices of the even and odd elements of a pair of registers.
DATA implicitEvenIdx<>+0(SB)/4, $0
DATA implicitEvenIdx<>+4(SB)/4, $2
DATA implicitEvenIdx<>+8(SB)/4, $4
DATA implicitEvenIdx<>+12(SB)/4, $6
DATA implicitEvenIdx<>+16(SB)/4, $8
DATA implicitEvenIdx<>+20(SB)/4, $10
DATA implicitEvenIdx<>+24(SB)/4, $12
DATA implicitEvenIdx<>+28(SB)/4, $14
DATA implicitEvenIdx<>+32(SB)/4, $16
DATA implicitEvenIdx<>+36(SB)/4, $18
DATA implicitEvenIdx<>+40(SB)/4, $20
DATA implicitEvenIdx<>+44(SB)/4, $22
DATA implicitEvenIdx<>+48(SB)/4, $24
DATA implicitEvenIdx<>+52(SB)/4, $26
DATA implicitEvenIdx<>+56(SB)/4, $28
DATA implicitEvenIdx<>+60(SB)/4, $30
GLOBL implicitEvenIdx<>(SB), RODATA|NOPTR, $64

DATA implicitOddIdx<>+0(SB)/4, $1
DATA implicitOddIdx<>+4(SB)/4, $3
DATA implicitOddIdx<>+8(SB)/4, $5
DATA implicitOddIdx<>+12(SB)/4, $7
DATA implicitOddIdx<>+16(SB)/4, $9
DATA implicitOddIdx<>+20(SB)/4, $11
DATA implicitOddIdx<>+24(SB)/4, $13
DATA implicitOddIdx<>+28(SB)/4, $15
DATA implicitOddIdx<>+32(SB)/4, $17
DATA implicitOddIdx<>+36(SB)/4, $19
DATA implicitOddIdx<>+40(SB)/4, $21
DATA implicitOddIdx<>+44(SB)/4, $23
DATA implicitOddIdx<>+48(SB)/4, $25
DATA implicitOddIdx<>+52(SB)/4, $27
DATA implicitOddIdx<>+56(SB)/4, $29
DATA implicitOddIdx<>+60(SB)/4, $31
GLOBL implicitOddIdx<>(SB), RODATA|NOPTR, $64

// func splitRowsAVX512(first, second *float32, dstStride int, src *float32, srcStride int, rows, full int, pairMask, srcMask uint64)
//
// For each of rows rows: first[i] = src[2i] and second[i] = src[2i+1],
// for full pairs (a multiple of 16) 16 at a time, then for the pairs
// of mask pairMask, read from the source floats of mask srcMask (32
// bits); row strides in floats (first and second share theirs). Nothing
// else is written.
TEXT ·splitRowsAVX512(SB), NOSPLIT, $0-72
	MOVQ first+0(FP), DI
	MOVQ second+8(FP), DX
	MOVQ dstStride+16(FP), R8
	MOVQ src+24(FP), SI
	MOVQ srcStride+32(FP), R9
	MOVQ rows+40(FP), CX
	MOVQ full+48(FP), R10
	MOVQ pairMask+56(FP), AX
	KMOVW AX, K1
	MOVQ srcMask+64(FP), AX
	KMOVW AX, K3 // the tail's first 16 source floats
	SHRQ $16, AX
	KMOVW AX, K4 // and the next 16
	SHLQ $2, R8
	SHLQ $2, R9
	TESTQ CX, CX
	JEQ splitdone
	VMOVDQU32 implicitEvenIdx<>(SB), Z6
	VMOVDQU32 implicitOddIdx<>(SB), Z7

splitrow:
	XORQ AX, AX         // pair index

splitfull:
	CMPQ AX, R10
	JGE splittail
	VMOVUPS (SI)(AX*8), Z0
	VMOVUPS 64(SI)(AX*8), Z1
	VMOVAPS Z6, Z2
	VPERMI2PS Z1, Z0, Z2
	VMOVAPS Z7, Z3
	VPERMI2PS Z1, Z0, Z3
	VMOVUPS Z2, (DI)(AX*4)
	VMOVUPS Z3, (DX)(AX*4)
	ADDQ $16, AX
	JMP splitfull

splittail:
	VMOVUPS.Z (SI)(AX*8), K3, Z0
	VMOVUPS.Z 64(SI)(AX*8), K4, Z1
	VMOVAPS Z6, Z2
	VPERMI2PS Z1, Z0, Z2
	VMOVAPS Z7, Z3
	VPERMI2PS Z1, Z0, Z3
	VMOVUPS Z2, K1, (DI)(AX*4)
	VMOVUPS Z3, K1, (DX)(AX*4)
	ADDQ R9, SI
	ADDQ R8, DI
	ADDQ R8, DX
	DECQ CX
	JNE splitrow

splitdone:
	VZEROUPPER
	RET
