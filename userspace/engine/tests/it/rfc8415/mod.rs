//! RFC 8415 conformance, one file per section.

mod section_16_discard;
mod section_18_3_1_solicit;
mod section_18_3_2_request;
mod section_18_3_3_confirm;
mod section_18_3_4_renew;
mod section_18_3_5_rebind;
mod section_18_3_6_information_request;
mod section_18_3_7_release;
mod section_18_3_8_decline;
mod section_19_relay;
