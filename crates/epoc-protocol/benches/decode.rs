//! Decrypt + decode throughput on one core (issue target: ≥ 20 M reports/s).
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use epoc_protocol::*;
use std::hint::black_box;

/// A realistic EPOC+ 256 Hz stream (two EEG reports per motion report), encrypted.
fn stream(n: usize) -> (Serial, Vec<[u8; 32]>) {
    let serial = Serial::from_usb("UD20160103001874").expect("serial");
    let cipher = Cipher::for_layout(KeyLayout::Plus16, &serial);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let eeg = i % 3 != 2;
        let r = Report {
            mode: Mode::EPOC_PLUS_256,
            kind: if eeg { ReportKind::Eeg } else { ReportKind::Motion },
            counter: if eeg {
                (i * 2 / 3 % 256) as u8
            } else {
                (i / 3 % 128) as u8
            },
            eeg: if eeg {
                [32768u16.wrapping_add(i as u16 % 500); 14]
            } else {
                [0; 14]
            },
            aux: if eeg { 300 } else { 0 },
            motion: if eeg {
                [0; 9]
            } else {
                [12, -3, 40, 500, 16300, -3000, -600, -1500, 250]
            },
        };
        let mut b = encode(&r).expect("encode");
        cipher.encrypt(&mut b);
        out.push(b);
    }
    (serial, out)
}

fn bench(c: &mut Criterion) {
    const N: usize = 4096;
    let (serial, reports) = stream(N);
    let mut g = c.benchmark_group("epoc-protocol");
    g.throughput(Throughput::Elements(N as u64));

    g.bench_function("decrypt+decode (Decoder, EPOC+ 16-bit)", |b| {
        let mut decoder = Decoder::new(
            Cipher::for_layout(KeyLayout::Plus16, &serial),
            Mode::EPOC_PLUS_256,
        );
        b.iter(|| {
            let mut acc = 0u32;
            for r in &reports {
                if let Ok(d) = decoder.decode(black_box(r)) {
                    acc = acc.wrapping_add(u32::from(d.report.eeg[0]));
                }
            }
            black_box(acc)
        })
    });

    g.bench_function(
        "decrypt+decode batched (Decoder::decode_many, EPOC+ 16-bit)",
        |b| {
            let mut decoder = Decoder::new(
                Cipher::for_layout(KeyLayout::Plus16, &serial),
                Mode::EPOC_PLUS_256,
            );
            let mut buf = reports.clone();
            b.iter(|| {
                buf.copy_from_slice(&reports);
                let mut acc = 0u32;
                for chunk in buf.chunks_mut(256) {
                    decoder.decode_many(chunk, |d| {
                        if let Ok(d) = d {
                            acc = acc.wrapping_add(u32::from(d.report.eeg[0]));
                        }
                    });
                }
                black_box(acc)
            })
        },
    );

    let cipher = Cipher::for_layout(KeyLayout::Plus16, &serial);
    g.bench_function("decrypt only", |b| {
        b.iter(|| {
            let mut acc = 0u8;
            for r in &reports {
                let mut d = *black_box(r);
                cipher.decrypt(&mut d);
                acc ^= d[2];
            }
            black_box(acc)
        })
    });

    let plain: Vec<[u8; 32]> = reports
        .iter()
        .map(|r| {
            let mut d = *r;
            cipher.decrypt(&mut d);
            d
        })
        .collect();
    g.bench_function("decode only (16-bit)", |b| {
        b.iter(|| {
            let mut acc = 0u32;
            for p in &plain {
                if let Ok(r) = decode(black_box(p), Mode::EPOC_PLUS_256) {
                    acc = acc.wrapping_add(u32::from(r.eeg[3]));
                }
            }
            black_box(acc)
        })
    });
    g.bench_function("decode only (14-bit)", |b| {
        b.iter(|| {
            let mut acc = 0u32;
            for p in &plain {
                if let Ok(r) = decode(black_box(p), Mode::EPOC) {
                    acc = acc.wrapping_add(u32::from(r.eeg[3]));
                }
            }
            black_box(acc)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
