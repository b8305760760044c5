// ruralcast live voice: the AudioWorklet that turns the microphone into 16 kHz mono PCM frames.
// Each output sample is the mean of the input samples of its interval (a box low-pass, enough for
// speech at 16 kHz from 44.1/48 kHz); every `frameMs` a frame of signed 16-bit samples is posted
// to the page with its peak level. Written for ruralcast; licence: the project's.
class RcCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.targetRate = opts.targetRate || 16000;
    this.step = sampleRate / this.targetRate; // input samples per output sample (>= 1)
    this.frameSamples = Math.round(this.targetRate * (opts.frameMs || 160) / 1000);
    this.frame = new Int16Array(this.frameSamples);
    this.filled = 0;
    this.acc = 0;
    this.count = 0;
    this.pos = 0; // input position within the current output interval
    this.peak = 0;
    this.running = true;
    this.port.onmessage = (event) => { if (event.data === "stop") this.running = false; };
  }

  process(inputs) {
    const input = inputs[0];
    if (!this.running) return false;
    if (!input || input.length === 0) return true;
    const channel = input[0];
    for (let i = 0; i < channel.length; i++) {
      this.acc += channel[i];
      this.count += 1;
      this.pos += 1;
      if (this.pos >= this.step) {
        this.pos -= this.step;
        let value = this.acc / this.count;
        this.acc = 0;
        this.count = 0;
        if (value > 1) value = 1; else if (value < -1) value = -1;
        const magnitude = Math.abs(value);
        if (magnitude > this.peak) this.peak = magnitude;
        this.frame[this.filled++] = value < 0 ? value * 0x8000 : value * 0x7fff;
        if (this.filled === this.frameSamples) {
          const out = this.frame;
          this.port.postMessage({ pcm: out.buffer, peak: this.peak }, [out.buffer]);
          this.frame = new Int16Array(this.frameSamples);
          this.filled = 0;
          this.peak = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("rc-capture", RcCapture);
