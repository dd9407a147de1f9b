#!/usr/bin/env bash
# Regenerate the small media fixtures the tests use (committed; CI does not run this).
# Needs the ffmpeg command line tool. Every video encodes its frame number in its brightness:
# luma = 16 + 4 * (n mod 50), so a test can tell which frame it got back.
set -euo pipefail
cd "$(dirname "$0")"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
frames="geq=lum='16+4*mod(N\,50)':cb=128:cr=128"

clip() { # name rate size seconds [extra args]
  local name=$1 rate=$2 size=$3 secs=$4; shift 4
  ff -f lavfi -i "color=c=gray:s=${size}:r=${rate}:d=${secs},format=yuv420p,${frames}" \
     -c:v libx264 -preset veryfast -crf 10 -g 12 -bf 2 -pix_fmt yuv420p "$@" "$name"
}

clip cfr_23976.mp4 24000/1001 64x48 1
clip cfr_25.mp4 25 64x48 1
clip cfr_2997.mp4 30000/1001 64x48 1
clip cfr_60.mp4 60 64x48 1
# Odd size: 4:4:4 so libx264 accepts odd dimensions.
ff -f lavfi -i "color=c=gray:s=321x241:r=25:d=0.4,format=yuv444p,${frames}" \
   -c:v libx264 -preset veryfast -crf 10 -pix_fmt yuv444p odd_321x241.mp4
# Variable frame rate: 10 frames at 40 ms, then 10 frames at 100 ms (in a 1 ms time base).
ff -f lavfi -i "color=c=gray:s=64x48:r=25:d=0.8,format=yuv420p,${frames},setpts='if(lt(N,10),N*0.04,0.4+(N-10)*0.1)/TB'" \
   -fps_mode passthrough -c:v libx264 -preset veryfast -crf 10 -pix_fmt yuv420p vfr.mkv
# A clip with a soundtrack: 25 fps picture and a 440 Hz tone (AAC, 48 kHz stereo).
ff -f lavfi -i "color=c=gray:s=64x48:r=25:d=1,format=yuv420p,${frames}" \
   -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=1" \
   -c:v libx264 -preset veryfast -crf 10 -pix_fmt yuv420p -c:a aac -b:a 64k -ac 2 -shortest with_audio.mp4
# Rotated by a display matrix (FFmpeg shows it turned a quarter turn).
ff -i cfr_25.mp4 -c copy -metadata:s:v:0 rotate=90 rotated.mp4
# A photograph: a single JPEG, which its demuxer cannot seek in.
ff -f lavfi -i "testsrc=size=96x64:rate=1" -frames:v 1 still.jpg

# Audio only: a 1 s, 1 kHz tone at -6 dBFS in every common format.
tone="sine=frequency=1000:sample_rate=44100:duration=1,volume=1.0"
ff -f lavfi -i "$tone" -ac 2 -c:a pcm_s16le tone.wav
ff -f lavfi -i "$tone" -c:a flac tone.flac
ff -f lavfi -i "$tone" -c:a libmp3lame -b:a 64k tone.mp3
ff -f lavfi -i "$tone" -c:a libvorbis -q:a 2 tone.ogg
ff -f lavfi -i "sine=frequency=1000:sample_rate=48000:duration=1" -c:a libopus -b:a 32k tone.opus
ff -f lavfi -i "$tone" -c:a aac -b:a 64k tone.m4a
ls -la
