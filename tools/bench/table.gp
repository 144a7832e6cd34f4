# SPDX-License-Identifier: GPL-2.0-only
#
# Packet rate against the number of live flows in the NAT's table.
# gnuplot -e "outfile=...; plots=\"'file' using 2:3:4:5 ... title 'c', ...\""
# table.gp; one file per configuration: config, flows, kpps median/min/max.
set terminal pngcairo size 800,500 font ",10"
set output outfile
set title "64-byte UDP rate against flows in the table (container -> outside)"
set xlabel "live flows"
set ylabel "kpps"
set logscale x
set yrange [0:*]
set xrange [500:2000000]
set grid
set key bottom left
eval "plot " . plots
