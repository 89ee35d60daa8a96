package consent

import "sort"

func sortedValues[K comparable, V any, T any](m map[K]V, conv func(V) T, key func(T) string) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, conv(v))
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

func stableByPosition(list []Purpose) {
	sort.SliceStable(list, func(i, j int) bool { return list[i].Position < list[j].Position })
}
