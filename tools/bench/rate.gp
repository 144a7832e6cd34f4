# SPDX-License-Identifier: GPL-2.0-only
#
# A figure per configuration for each of the seven UDP loads, side by
# side, median with the range over rounds: the packet rate (rate.png) or
# the forwarding cost (cost.png).  gnuplot -e "datafile=...; outfile=..."
# -e "set title ...; set ylabel ..." rate.gp; datafile: config, then
# median/min/max of udp-1-fwd, udp-10k-fwd, udp-1-rep, udp-10k-rep,
# udp-10k-dnat, udp6-10k-fwd, udp6-10k-rep.
set terminal pngcairo size 1300,520 font ",10"
set output outfile
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid 0.6 border -1
set boxwidth 0.9
set grid ytics
set key top left horizontal
set xtics nomirror
plot datafile using 2:3:4:xtic(1) title "1 flow, out", \
     '' using 5:6:7 title "10k flows, out", \
     '' using 8:9:10 title "1 flow, reply", \
     '' using 11:12:13 title "10k flows, reply", \
     '' using 14:15:16 title "10k flows, to a published port", \
     '' using 17:18:19 title "IPv6, 10k flows, out", \
     '' using 20:21:22 title "IPv6, 10k flows, reply"
