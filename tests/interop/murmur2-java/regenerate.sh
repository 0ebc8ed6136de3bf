#!/usr/bin/env bash
# Regenerates the reference partitions that kafka-listener's partitioner is tested against
# (tests/fixtures/murmur2_java_vectors.tsv, read by `murmur2_matches_java_for_1000_keys` in
# tests/producer_template.rs), from kafka-clients' own Utils.murmur2 and
# BuiltInPartitioner.partitionForKey. Needs Java 17+ and Maven (dependencies from Maven Central).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../fixtures/murmur2_java_vectors.tsv"
cd "$here"
mvn -q -B compile dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
java -cp "target/classes:$(cat target/classpath.txt)" dev.kafkalistener.interop.Murmur2Vectors > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(grep -vc '^#' "$out") keys)"
