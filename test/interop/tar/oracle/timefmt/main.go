// Test oracle: for each "sec nsec" line on stdin prints Go's time.Unix(sec, nsec).UTC().Format(RFC3339Nano),
// the reference for the scanner's RFC 3339 formatter.
package main

import (
	"bufio"
	"fmt"
	"os"
	"time"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		var sec, nsec int64
		fmt.Sscan(in.Text(), &sec, &nsec)
		fmt.Fprintln(out, time.Unix(sec, nsec).UTC().Format(time.RFC3339Nano))
	}
}
