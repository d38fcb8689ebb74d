package filter_test

import "fmt"

func fmtSscan(v any, n *int64) (int, error) { return fmt.Sscan(fmt.Sprint(v), n) }
