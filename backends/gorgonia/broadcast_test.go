package gorgonia

import "testing"

// TestPlanVisitsEveryElementOnce checks merged iteration against a naive walk.
func TestPlanVisitsEveryElementOnce(t *testing.T) {
	cases := []struct{ out, a, b []int }{
		{[]int{2, 3, 4, 5}, []int{1, 3, 1, 1}, []int{2, 3, 4, 5}},
		{[]int{2, 3}, []int{}, []int{3}},
		{[]int{4, 1, 6}, []int{4, 1, 1}, []int{6}},
		{[]int{3, 4}, []int{3, 1}, []int{1, 4}},
	}
	for _, c := range cases {
		sa, sb := broadcastStrides(c.a, c.out), broadcastStrides(c.b, c.out)
		var got [][3]int
		newPlan(c.out, sa, sb).rows(func(o, ia, ib, n, inca, incb int) {
			for j := range n {
				got = append(got, [3]int{o + j, ia + j*inca, ib + j*incb})
			}
		})
		total := numElements(c.out)
		if len(got) != total {
			t.Fatalf("%v: visited %d elements, want %d", c, len(got), total)
		}
		st := stridesOf(c.out)
		for i := range total {
			ia, ib := 0, 0
			for d := range c.out {
				k := (i / st[d]) % c.out[d]
				ia += k * sa[d]
				ib += k * sb[d]
			}
			if got[i] != [3]int{i, ia, ib} {
				t.Fatalf("%v: element %d visited as %v, want %v", c, i, got[i], [3]int{i, ia, ib})
			}
		}
	}
}
