//! How big and how long: the full run and the `--quick` run differ only in these numbers.

use std::time::Duration;

use serde::Serialize;

/// Sizes and durations of one bench run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Plan {
    pub(crate) name: &'static str,
    /// Library modules in the fixture universe, each with `versions_per_module` versions.
    pub(crate) lib_modules: usize,
    pub(crate) versions_per_module: usize,
    /// Modules the client-view project requires (the first N library modules).
    pub(crate) project_requires: usize,
    /// Large stored zips of incompressible data.
    pub(crate) big_zips: usize,
    pub(crate) big_zip_mib: usize,
    /// The concurrent cold burst: `cold_requests` clients over `cold_modules` zips.
    pub(crate) cold_modules: usize,
    pub(crate) cold_requests: usize,
    /// The scale store: `scale_modules` × `scale_versions` generated versions.
    pub(crate) scale_modules: usize,
    pub(crate) scale_versions: usize,
    /// Length of one load-generator run (hits and zips).
    pub(crate) run: Duration,
    /// Length of the 256-connection zip run that measures memory under load.
    pub(crate) zip_memory_run: Duration,
    /// Repetitions of the slow one-shot measurements (median reported).
    pub(crate) reps: usize,
}

impl Plan {
    pub(crate) fn full() -> Plan {
        Plan {
            name: "full",
            lib_modules: 400,
            versions_per_module: 5,
            project_requires: 300,
            big_zips: 3,
            big_zip_mib: 50,
            cold_modules: 50,
            cold_requests: 200,
            scale_modules: 1_000,
            scale_versions: 100,
            run: Duration::from_secs(5),
            zip_memory_run: Duration::from_secs(10),
            reps: 3,
        }
    }

    pub(crate) fn quick() -> Plan {
        Plan {
            name: "quick",
            lib_modules: 24,
            versions_per_module: 2,
            project_requires: 12,
            big_zips: 2,
            big_zip_mib: 2,
            cold_modules: 10,
            cold_requests: 40,
            scale_modules: 100,
            scale_versions: 20,
            run: Duration::from_secs(1),
            zip_memory_run: Duration::from_secs(2),
            reps: 1,
        }
    }

    /// Module versions in the fixture universe (library plus big zips).
    pub(crate) fn universe_versions(&self) -> usize {
        self.lib_modules * self.versions_per_module + self.big_zips
    }

    /// `n` generated versions (rounded down to whole modules), keeping the versions a
    /// module.
    pub(crate) fn set_scale_total(&mut self, n: usize) {
        self.scale_modules = (n / self.scale_versions).max(1);
    }

    pub(crate) fn scale_total(&self) -> usize {
        self.scale_modules * self.scale_versions
    }
}
