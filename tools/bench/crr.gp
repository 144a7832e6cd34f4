# SPDX-License-Identifier: GPL-2.0-only
#
# TCP connections per second (connect, request, response, close) per
# configuration, median with the range over rounds.
# gnuplot -e "datafile=...; outfile=..." crr.gp; datafile: config,
# median, min, max.
set terminal pngcairo size 800,450 font ",10"
set output outfile
set title "TCP connections per second (median, range over rounds)"
set ylabel "connections/s"
set yrange [0:*]
set style fill solid 0.6 border -1
set boxwidth 0.6
set grid ytics
unset key
plot datafile using 0:2:xtic(1) with boxes, \
     '' using 0:2:3:4 with yerrorbars lc rgb "black" pt 0
