//! Integration tests: the generator against a fake server pair on loopback, and against real
//! servers in network namespaces (tandem-lab; ignored unless run as root by the lab runner).

mod lab;
mod loopback;
