# SPDX-License-Identifier: GPL-2.0-only
#
# TCP connections per second (connect, request, response, close) per
# configuration, median with the range over rounds: from the container to
# the outside, and from the outside to the container's published port.
# gnuplot -e "datafile=...; outfile=..." crr.gp; datafile: config, then
# median, min, max of tcp-crr and of tcp-crr-dnat.
set terminal pngcairo size 800,450 font ",10"
set output outfile
set title "TCP connections per second (median, range over rounds)"
set ylabel "connections/s"
set yrange [0:*]
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.6 border -1
set boxwidth 0.9
set grid ytics
set key top left horizontal
plot datafile using 2:3:4:xtic(1) title "container -> outside", \
     '' using 5:6:7 title "outside -> published port"
