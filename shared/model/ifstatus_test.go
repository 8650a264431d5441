package model

import "testing"

func TestIfStatusSNMP(t *testing.T) {
	tests := []struct {
		status IfStatus
		number int64
	}{
		{IfUp, 1}, {IfDown, 2}, {IfTesting, 3}, {IfUnknown, 4},
		{IfDormant, 5}, {IfNotPresent, 6}, {IfLowerLayerDown, 7},
	}
	for _, tt := range tests {
		if got := tt.status.SNMP(); got != tt.number {
			t.Errorf("%s.SNMP() = %d, want %d", tt.status, got, tt.number)
		}
		if got := IfStatusFromSNMP(tt.number); got != tt.status {
			t.Errorf("IfStatusFromSNMP(%d) = %s, want %s", tt.number, got, tt.status)
		}
	}
	for _, s := range []IfStatus{"", "sideways", "UP"} {
		if got := s.SNMP(); got != 4 {
			t.Errorf("%q.SNMP() = %d, want 4 (unknown)", s, got)
		}
	}
	for _, n := range []int64{0, 8, -1} {
		if got := IfStatusFromSNMP(n); got != IfUnknown {
			t.Errorf("IfStatusFromSNMP(%d) = %s, want unknown", n, got)
		}
	}
}
