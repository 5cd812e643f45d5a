# perl: hashes, regexes, sort, sprintf, pack/unpack, local files and a child process.
use strict; use warnings;
my %count;
$count{$_}++ for split //, "the quick brown fox jumps over the lazy dog";
print join(",", map { "$_=$count{$_}" } grep { /\S/ } sort keys %count), "\n";
my $s = "2024-01-02T03:04:05";
if ($s =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)$/) { printf "%04d/%02d/%02d %02d.%02d.%02d\n", $1, $2, $3, $4, $5, $6; }
print join(" ", unpack("H*", pack("N n C", 0xdeadbeef, 0x1234, 7))), "\n";
my @sorted = sort { $a <=> $b } map { ($_ * 7919) % 1000 } 1..20;
print "@sorted\n";
open(my $fh, '>', 'perl_out.txt') or die; print $fh "line $_\n" for 1..5; close $fh;
open($fh, '<', 'perl_out.txt') or die; my @l = <$fh>; close $fh; print scalar(@l), " lines, last: $l[-1]";
my $out = `echo from a child`; print "child: $out";
printf "%.10f\n", atan2(1, 1) * 4;
print "sum: ", eval { my $t = 0; $t += $_ for 1..1000; $t }, "\n";
