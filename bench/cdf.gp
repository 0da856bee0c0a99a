# cdf.gp - the sandbox start latency CDF of docs/PERFORMANCE.md, from the
# files `cradle-bench --cdf DIR/live<L>` writes (DIR/live<L>-{cradle,floor}-c<C>.dat).
#
#   gnuplot -e "out='cdf.png'; dir='DIR'; lives='0 5000'; cs='1 8'" bench/cdf.gp
#
# One panel per client concurrency C; in each, one hue per live count,
# cradled dark and thick, the floor (the same sandboxes made in-process)
# light and thin.
set terminal pngcairo size 1200,520 font "sans,10"
set output out
set multiplot layout 1, words(cs) title "sandbox start latency CDF: cradled (dark) vs the same-plan floor (light)"
set logscale x 10
set xlabel "start latency, ms (log scale)"
set ylabel "fraction of starts at or below"
set yrange [0:1]
set ytics 0.1
set grid xtics ytics mxtics
set key bottom right
dark = "#1f4e9c #b22222 #1b7a3a #6a3d9a"
light = "#7fb2f0 #f4a582 #8fd19e #cab2d6"
do for [i = 1:words(cs)] {
	c = word(cs, i)
	set title sprintf("%s client thread%s", c, c eq "1" ? "" : "s")
	plot for [j = 1:words(lives)] sprintf("%s/live%s-cradle-c%s.dat", dir, word(lives, j), c) \
	         using 1:2 with steps lw 2.5 lc rgb word(dark, j) title sprintf("cradled, %s live", word(lives, j)), \
	     for [j = 1:words(lives)] sprintf("%s/live%s-floor-c%s.dat", dir, word(lives, j), c) \
	         using 1:2 with steps lw 1.5 lc rgb word(light, j) title sprintf("floor, %s live", word(lives, j))
}
unset multiplot
