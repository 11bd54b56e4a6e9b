/*
 * Vigil voltage monitor: reads A0 and prints one voltage per line, every 100 ms, at 9600 baud.
 *
 * Wiring (see README "Wiring an Arduino"):
 *   sensor signal -> A0, sensor ground -> GND. Signals above 5 V need a resistor divider:
 *   Vin -> R1 -> A0 -> R2 -> GND, and DIVIDER_RATIO = (R1 + R2) / R2 below.
 *
 * Output format, one reading per line: "3.217" (Vigil also accepts "V:3.217" and "3.217,<millis>").
 */

const uint8_t SENSOR_PIN = A0;
const float ADC_REFERENCE_V = 5.0;      // 5 V boards (Uno, Nano, Mega); 3.3 for 3.3 V boards
const float ADC_STEPS = 1023.0;         // 10-bit ADC
const float DIVIDER_RATIO = 1.0;        // e.g. R1 = 10k, R2 = 10k -> 2.0 (measures up to 10 V)
const unsigned long PERIOD_MS = 100;    // 10 readings per second
const uint8_t OVERSAMPLE = 4;           // average a few conversions to tame ADC noise

unsigned long nextAt = 0;

void setup() {
  Serial.begin(9600);
  analogReference(DEFAULT);
  nextAt = millis();
}

void loop() {
  unsigned long now = millis();
  if ((long)(now - nextAt) < 0) return;
  nextAt += PERIOD_MS;

  unsigned long sum = 0;
  for (uint8_t i = 0; i < OVERSAMPLE; i++) sum += analogRead(SENSOR_PIN);
  float counts = sum / (float)OVERSAMPLE;
  float volts = counts * ADC_REFERENCE_V / ADC_STEPS * DIVIDER_RATIO;

  Serial.println(volts, 3);
}
