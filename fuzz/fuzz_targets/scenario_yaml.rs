//! Any bytes given to the YAML front door must give a scenario or an error,
//! never a panic, and a rejected scenario's diagnostics must render.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match asyncflow::scenario::Scenario::from_yaml_str(text, None) {
            Ok(s) => {
                // A valid scenario must also pass validation when rebuilt in code.
                assert!(asyncflow::scenario::Scenario::from_model(s.model().clone()).is_ok());
            }
            Err(e) => {
                let _ = e.render_human();
                let _ = e.to_json();
            }
        }
    }
});
