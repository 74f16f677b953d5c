//! `epocd devices`: what is plugged in, what is in range, and why anything cannot be used.

use std::time::Duration;

use epoc_driver::discovery::{Found, discover};
use epoc_driver::virtual_headset::virtual_serial;
use epoc_driver::{Connection, headset_id};
use epoc_protocol::{Model, Serial};

use crate::cli::DevicesArgs;
use crate::error::CliError;

fn line(f: &Found) -> String {
    let serial = f
        .serial
        .as_deref()
        .map(|s| format!("  serial {s}"))
        .unwrap_or_default();
    let state = match &f.problem {
        None => "ready".to_owned(),
        Some(p) => format!("CANNOT USE: {p}"),
    };
    format!("  {:<18} {:<20}{serial}  {state}", f.headset_id, f.location)
}

/// Run `epocd devices`.
pub fn run(args: &DevicesArgs) -> Result<(), CliError> {
    let scan = (args.ble_scan > 0.0).then(|| Duration::from_secs_f64(args.ble_scan.min(60.0)));
    let found = discover(scan);
    println!("USB dongles:");
    match &found.hid_unavailable {
        Some(reason) => println!("  unavailable: {reason}"),
        None => {
            let dongles: Vec<&Found> = found
                .headsets
                .iter()
                .filter(|f| f.connection == Connection::Dongle)
                .collect();
            if dongles.is_empty() {
                println!(
                    "  none found (EMOTIV receiver, USB 21a1:0001 or 1234:ed02): plug it in; it is noticed within 2 s"
                );
            }
            for f in dongles {
                println!("{}", line(f));
            }
            println!("  (a dongle's model shows as EPOCPLUS until its reports are decrypted)");
        }
    }
    println!("Bluetooth:");
    match (&found.bluetooth_unavailable, scan) {
        (_, None) => println!("  not scanned (--ble-scan 0)"),
        (Some(reason), _) => println!(
            "  unavailable: {reason}\n  (Bluetooth needs the system D-Bus and BlueZ's bluetoothd running; everything else works without it)"
        ),
        (None, _) => {
            let ble: Vec<&Found> = found
                .headsets
                .iter()
                .filter(|f| f.connection == Connection::Bluetooth)
                .collect();
            if ble.is_empty() {
                println!("  no EPOC headset advertising (switch it on, in Bluetooth mode)");
            }
            for f in ble {
                println!("{}", line(f));
            }
        }
    }
    println!("Virtual:");
    let serial = virtual_serial(1);
    let id = Serial::from_usb(&serial)
        .map(|s| headset_id(Model::EpocPlus, &s))
        .unwrap_or_default();
    println!(
        "  {id:<18} {:<20}  serial {serial}  ready (synthetic EPOC+: epocd stream --virtual)",
        "virtual:1"
    );
    Ok(())
}
