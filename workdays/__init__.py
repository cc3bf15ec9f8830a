"""Working days of the bureau: 法定节假日 and 调休, statutory periods, the date helpers models call."""
